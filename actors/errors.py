"""What the domain refuses, and why, without wording it.

A refusal names a `Message` (a stable id) and its parameters; `web.messages` words each one in
the reader's language, for a page or for the command line. The domain never builds sentences,
so the same refusal reads in German on a German page and in English in a terminal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from enum import StrEnum

Param = str | int


class Message(StrEnum):
    """Every refusal the domain (and a form reading input for it) can give."""

    # Reading a form or a command line, before the domain sees the input.
    DATETIME_UNREADABLE = "datetime_unreadable"
    DATE_UNREADABLE = "date_unreadable"
    START_MISSING = "start_missing"
    END_MISSING = "end_missing"
    LATITUDE_UNREADABLE = "latitude_unreadable"
    LONGITUDE_UNREADABLE = "longitude_unreadable"
    CAPACITY_UNREADABLE = "capacity_unreadable"

    # Shared by several kinds of content.
    TITLE_REQUIRED = "title_required"
    TITLE_TOO_LONG = "title_too_long"
    DESCRIPTION_TOO_LONG = "description_too_long"
    COUNTRY_UNKNOWN = "country_unknown"
    COORDINATES_HALF = "coordinates_half"
    LATITUDE_RANGE = "latitude_range"
    LONGITUDE_RANGE = "longitude_range"
    NOT_A_HASHTAG = "not_a_hashtag"
    HASHTAG_TOO_LONG = "hashtag_too_long"
    LANGUAGE_UNKNOWN = "language_unknown"
    DATE_REQUIRED = "date_required"

    # Actions and assemblies.
    CATEGORY_UNKNOWN = "category_unknown"
    KIND_UNKNOWN = "kind_unknown"
    TIMEZONE_REQUIRED = "timezone_required"
    TIMEZONE_UNKNOWN = "timezone_unknown"
    TIME_SKIPPED = "time_skipped"
    END_REQUIRED = "end_required"
    END_BEFORE_START = "end_before_start"
    ONLINE_URL_NOT_HTTP = "online_url_not_http"
    LOCATION_REQUIRED = "location_required"
    CAPACITY_NOT_POSITIVE = "capacity_not_positive"

    # Alerts.
    TEXT_REQUIRED = "text_required"
    TEXT_TOO_LONG = "text_too_long"
    REGION_TOO_LONG = "region_too_long"
    ASK_TOO_LONG = "ask_too_long"
    ASK_KIND_UNKNOWN = "ask_kind_unknown"
    URGENCY_UNKNOWN = "urgency_unknown"
    TOO_MANY_LINKS = "too_many_links"
    LINK_NOT_HTTP = "link_not_http"
    TOO_MANY_HASHTAGS = "too_many_hashtags"
    EXPIRES_BEFORE_RAISED = "expires_before_raised"

    # Solidarity days.
    THEME_REQUIRED = "theme_required"
    THEME_TOO_LONG = "theme_too_long"
    SLOGAN_REQUIRED = "slogan_required"
    SLOGAN_TOO_LONG = "slogan_too_long"

    # Reports from the struggle.
    SUMMARY_TOO_LONG = "summary_too_long"
    BODY_REQUIRED = "body_required"
    BODY_TOO_LONG = "body_too_long"
    BODY_HAS_SCRIPT = "body_has_script"
    RELATED_UNKNOWN = "related_unknown"
    ORIGINAL_LANGUAGE_FIRST = "original_language_first"
    TRANSLATION_SAME_LANGUAGE = "translation_same_language"

    # Taking part in an assembly.
    YOUR_NAME_REQUIRED = "your_name_required"
    EMAIL_INVALID = "email_invalid"
    NO_REGISTRATIONS = "no_registrations"

    # Finding actions near a place.
    PLACE_REQUIRED = "place_required"
    PLACE_TOO_LONG = "place_too_long"
    PLACE_UNKNOWN = "place_unknown"
    RADIUS_UNREADABLE = "radius_unreadable"
    RADIUS_RANGE = "radius_range"
    POSTCODE_UNKNOWN = "postcode_unknown"
    SEARCH_KIND_UNKNOWN = "search_kind_unknown"
    SEARCH_DATE_RANGE = "search_date_range"
    SEARCH_DATES_REVERSED = "search_dates_reversed"
    SEARCH_DAY_UNKNOWN = "search_day_unknown"
    SEARCH_ONLINE_UNKNOWN = "search_online_unknown"

    # The contact form (and other public forms: their anti-abuse checks).
    EMAIL_REQUIRED = "email_required"
    TOPIC_UNKNOWN = "topic_unknown"
    MESSAGE_REQUIRED = "message_required"
    MESSAGE_TOO_LONG = "message_too_long"
    FIELD_TOO_LONG = "field_too_long"
    NO_MARKUP = "no_markup"
    FORM_TOO_FAST = "form_too_fast"
    FORM_EXPIRED = "form_expired"
    FORM_AUTOMATED = "form_automated"
    FORWARD_ADDRESS_INVALID = "forward_address_invalid"
    TOO_MANY_ADDRESSES = "too_many_addresses"
    RETENTION_RANGE = "retention_range"
    REPLY_REQUIRED = "reply_required"

    # Signing on to the call (its anti-abuse checks are the contact form's, above).
    SIGN_EMAIL_REQUIRED = "sign_email_required"
    SIGNER_UNKNOWN = "signer_unknown"
    ORGANIZATION_NAME_REQUIRED = "organization_name_required"
    ORGANIZATION_KIND_UNKNOWN = "organization_kind_unknown"
    WEBSITE_NOT_HTTP = "website_not_http"
    # Plans submitted through /submit.
    START_IN_PAST = "start_in_past"
    SUBMITTER_BLOCKED = "submitter_blocked"
    SUBMISSION_DECIDED = "submission_decided"
    REASON_REQUIRED = "reason_required"
    # Messages from the admins to the signers.
    SUBJECT_REQUIRED = "subject_required"
    MESSAGE_BODY_REQUIRED = "message_body_required"
    TRANSLATION_HALF = "translation_half"
    RATE_INVALID = "rate_invalid"
    NO_SUBSCRIBED_SIGNERS = "no_subscribed_signers"
    # The call on the home page and its image.
    IMAGE_REQUIRED = "image_required"
    IMAGE_TOO_LARGE = "image_too_large"
    IMAGE_TYPE_UNKNOWN = "image_type_unknown"
    ALT_REQUIRED = "alt_required"
    ALT_TOO_LONG = "alt_too_long"

    # Organizations.
    HANDLE_INVALID = "handle_invalid"
    HANDLE_RESERVED = "handle_reserved"
    ORGANIZATION_EXISTS = "organization_exists"
    ORGANIZATION_UNKNOWN = "organization_unknown"
    NO_ORGANIZATION_YET = "no_organization_yet"
    NAME_REQUIRED = "name_required"
    NAME_TOO_LONG = "name_too_long"

    # Not found (`NotFound`).
    EVENT_NOT_FOUND = "event_not_found"
    ALERT_NOT_FOUND = "alert_not_found"
    DAY_NOT_FOUND = "day_not_found"
    REPORT_NOT_FOUND = "report_not_found"
    ORGANIZATION_NOT_FOUND = "organization_not_found"
    PARTICIPANT_NOT_FOUND = "participant_not_found"
    CONTACT_MESSAGE_NOT_FOUND = "contact_message_not_found"
    SIGNATURE_NOT_FOUND = "signature_not_found"
    SUBMISSION_NOT_FOUND = "submission_not_found"
    SIGNER_MESSAGE_NOT_FOUND = "signer_message_not_found"


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with one field of the input."""

    field: str
    message: Message
    params: Mapping[str, Param] = dataclasses.field(default_factory=dict)


class ValidationError(ValueError):
    """Input the domain refuses: at most one problem per field, in the order found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: dict[str, Problem] = {}
        for problem in problems:
            self.problems.setdefault(problem.field, problem)
        # Ids, not words: for logs and tracebacks. People read `web.messages`' wording.
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in self.problems.values()))

    @classmethod
    def one(cls, field: str, message: Message, **params: Param) -> ValidationError:
        return cls([Problem(field, message, params)])


class Problems:
    """Collects what is wrong with an input, so the person hears it all at once."""

    def __init__(self) -> None:
        self._found: list[Problem] = []

    def add(self, field: str, message: Message, **params: Param) -> None:
        self._found.append(Problem(field, message, params))

    def extend(self, error: ValidationError) -> None:
        self._found.extend(error.problems.values())

    def __contains__(self, field: str) -> bool:
        return any(problem.field == field for problem in self._found)

    def __bool__(self) -> bool:
        return bool(self._found)

    def raise_any(self) -> None:
        if self._found:
            raise ValidationError(self._found)


class NotFound(LookupError):
    """No such thing of this node (or no longer): `ref` says which one was asked for."""

    def __init__(self, message: Message, ref: str = "") -> None:
        super().__init__(f"{message}: {ref}" if ref else str(message))
        self.message = message
        self.ref = ref
