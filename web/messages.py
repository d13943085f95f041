"""The words for every refusal of the domain (`actors.errors.Message`), in the reader's language.

One catalogue: forms show these beside their fields, the error pages show them, and the command
line prints them in English. Each entry is a gettext message (extracted by `pybabel extract`,
translated in web/locales) with named parameters; numbers are written as the language writes
them ("20,000", "20.000").
"""

from __future__ import annotations

from collections.abc import Mapping

from babel.numbers import format_decimal

from actors.errors import Message, NotFound, Param, Problem, ValidationError
from web import i18n


def _(message: str) -> str:
    """Marks a message for the catalogs; `word` translates it when shown."""
    return message


WORDING: dict[Message, str] = {
    Message.DATETIME_UNREADABLE: _("Write the date and time like 2027-05-01 10:00."),
    Message.DATE_UNREADABLE: _("“%(value)s” is not a date: write it like 2027-03-08."),
    Message.START_MISSING: _("Give the date and time it starts."),
    Message.END_MISSING: _("Give the date and time it ends."),
    Message.LATITUDE_UNREADABLE: _("The latitude is a number such as 38.7077."),
    Message.LONGITUDE_UNREADABLE: _("The longitude is a number such as -9.1365."),
    Message.CAPACITY_UNREADABLE: _("Write the number of places as a whole number, such as 200."),
    Message.TITLE_REQUIRED: _("A title is required."),
    Message.TITLE_TOO_LONG: _("The title is longer than %(limit)s characters."),
    Message.DESCRIPTION_TOO_LONG: _("The description is longer than %(limit)s characters."),
    Message.COUNTRY_UNKNOWN: _("“%(value)s” is not a two-letter country code such as PT or BR."),
    Message.COORDINATES_HALF: _("Give both latitude and longitude, or neither."),
    Message.LATITUDE_RANGE: _("The latitude must be between -90 and 90."),
    Message.LONGITUDE_RANGE: _("The longitude must be between -180 and 180."),
    Message.NOT_A_HASHTAG: _("“%(value)s” is not a hashtag: letters, digits and _ only."),
    Message.HASHTAG_TOO_LONG: _("#%(value)s is longer than %(limit)s characters."),
    Message.LANGUAGE_UNKNOWN: _("“%(value)s” is not a language code like en or pt-BR."),
    Message.DATE_REQUIRED: _("A date like 2027-03-08 is required."),
    Message.CATEGORY_UNKNOWN: _("Choose an action or an assembly."),
    Message.KIND_UNKNOWN: _("The kind must be one of: %(choices)s."),
    Message.TIMEZONE_REQUIRED: _("Choose the time zone whose clock the start and end follow."),
    Message.TIMEZONE_UNKNOWN: _(
        "Unknown time zone “%(value)s”: use a name like Europe/Lisbon or America/Bogota."
    ),
    Message.TIME_SKIPPED: _("That time does not exist there: the clocks change at that moment."),
    Message.END_REQUIRED: _("An end time is required."),
    Message.END_BEFORE_START: _("The end must be after the start."),
    Message.ONLINE_URL_NOT_HTTP: _("The online link must be an http(s) address."),
    Message.LOCATION_REQUIRED: _("Give a place and a city, or an online link, or both."),
    Message.CAPACITY_NOT_POSITIVE: _("The capacity must be a positive number."),
    Message.TEXT_REQUIRED: _("Say what happened."),
    Message.TEXT_TOO_LONG: _("The text is longer than %(limit)s characters."),
    Message.REGION_TOO_LONG: _("The region is longer than %(limit)s characters."),
    Message.ASK_TOO_LONG: _("What is asked is longer than %(limit)s characters."),
    Message.ASK_KIND_UNKNOWN: _("Unknown kind of help “%(value)s”; one of: %(choices)s."),
    Message.URGENCY_UNKNOWN: _("The urgency is urgent or normal."),
    Message.TOO_MANY_LINKS: _("At most %(limit)s links."),
    Message.LINK_NOT_HTTP: _("“%(value)s” is not an http(s) address."),
    Message.TOO_MANY_HASHTAGS: _("At most %(limit)s hashtags."),
    Message.EXPIRES_BEFORE_RAISED: _("The alert would expire before it is raised."),
    Message.THEME_REQUIRED: _("A theme is required."),
    Message.THEME_TOO_LONG: _("The theme is longer than %(limit)s characters."),
    Message.SLOGAN_REQUIRED: _("A slogan is required."),
    Message.SLOGAN_TOO_LONG: _("The slogan is longer than %(limit)s characters."),
    Message.SUMMARY_TOO_LONG: _("The summary is longer than %(limit)s characters."),
    Message.BODY_REQUIRED: _("Write the report itself."),
    Message.BODY_TOO_LONG: _("The report is longer than %(limit)s characters."),
    Message.BODY_HAS_SCRIPT: _(
        "The report contains code (a script, an embed or a javascript: link). Write it as "
        "text: formatting with Markdown is fine, code that runs is not."
    ),
    Message.ORIGINAL_LANGUAGE_FIRST: _(
        "Say in which language the report itself is written before adding a translation."
    ),
    Message.TRANSLATION_SAME_LANGUAGE: _(
        "The report itself is in that language: choose another one for the translation."
    ),
    Message.RELATED_UNKNOWN: _(
        "“%(value)s” is not an action, assembly, alert or day this node knows. Copy the "
        "address from its page here."
    ),
    Message.YOUR_NAME_REQUIRED: _("Please give your name."),
    Message.EMAIL_INVALID: _("That email address does not look right."),
    Message.NO_REGISTRATIONS: _("This event does not take registrations."),
    Message.PLACE_REQUIRED: _("Write the name of a city or town."),
    Message.PLACE_TOO_LONG: _("The place is longer than %(limit)s characters."),
    Message.PLACE_UNKNOWN: _(
        "No city or town called “%(value)s” is known here: check the spelling, or try a larger "
        "town nearby."
    ),
    Message.RADIUS_UNREADABLE: _("“%(value)s” is not a distance: write a number of km like 50."),
    Message.RADIUS_RANGE: _("The distance must be between %(low)s and %(high)s km."),
    Message.POSTCODE_UNKNOWN: _(
        "“%(value)s” looks like a postcode, and the place data has no postcodes: write the name "
        "of the town instead."
    ),
    Message.SEARCH_KIND_UNKNOWN: _("Choose actions, assemblies, or both."),
    Message.SEARCH_DATE_RANGE: _("Choose a date between %(low)s and %(high)s."),
    Message.SEARCH_DATES_REVERSED: _("The first date comes after the last one."),
    Message.SEARCH_DAY_UNKNOWN: _("No Monthly Solidarity Day on %(value)s is known here."),
    Message.SEARCH_ONLINE_UNKNOWN: _(
        "Choose whether to include online events, show only them, or only events in person."
    ),
    Message.EMAIL_REQUIRED: _("Give an e-mail address we can answer you at."),
    Message.TOPIC_UNKNOWN: _("Choose what your message is about."),
    Message.MESSAGE_REQUIRED: _("Write your message."),
    Message.MESSAGE_TOO_LONG: _("The message is longer than %(limit)s characters."),
    Message.FIELD_TOO_LONG: _("This is longer than %(limit)s characters."),
    Message.NO_MARKUP: _("Write plain text, without HTML tags such as <script> or <a>."),
    Message.FORM_TOO_FAST: _(
        "That was very fast: please read your message over, then send it again."
    ),
    Message.FORM_EXPIRED: _("This form is too old or damaged. Please send it again."),
    Message.FORM_AUTOMATED: _(
        "This form was filled in by a program, so it was not sent. If you are a person, "
        "please send it again."
    ),
    Message.FORWARD_ADDRESS_INVALID: _("“%(value)s” is not an e-mail address."),
    Message.TOO_MANY_ADDRESSES: _("At most %(limit)s addresses."),
    Message.RETENTION_RANGE: _("Keep messages between %(low)s and %(high)s days."),
    Message.REPLY_REQUIRED: _("Write your answer."),
    Message.SIGN_EMAIL_REQUIRED: _(
        "Give your e-mail address: the confirmation link is sent there."
    ),
    Message.SIGNER_UNKNOWN: _("Choose whether you sign as a person or for an organization."),
    Message.ORGANIZATION_NAME_REQUIRED: _("Give the name of the organization you sign for."),
    Message.ORGANIZATION_KIND_UNKNOWN: _("Choose what kind of organization it is."),
    Message.WEBSITE_NOT_HTTP: _(
        "The website must be an address starting with https:// or http://."
    ),
    Message.IMAGE_REQUIRED: _("Choose an image file to upload."),
    Message.IMAGE_TOO_LARGE: _("The image is larger than %(limit)s MB: make it smaller first."),
    Message.IMAGE_TYPE_UNKNOWN: _("The image must be a PNG, JPEG or WebP file."),
    Message.ALT_REQUIRED: _(
        "Describe the image in a few words for people who cannot see it, in at least one language."
    ),
    Message.ALT_TOO_LONG: _("The description of the image is longer than %(limit)s characters."),
    Message.SUBJECT_REQUIRED: _("Give the message a subject."),
    Message.MESSAGE_BODY_REQUIRED: _("Write the text of the message."),
    Message.TRANSLATION_HALF: _(
        "Give both the subject and the text in this language, or leave both empty."
    ),
    Message.RATE_INVALID: _(
        "Give how many mails to send as a whole number from 1 to %(limit)s, a minute or an hour."
    ),
    Message.NO_SUBSCRIBED_SIGNERS: _(
        "No confirmed signer of this node takes messages yet: nothing was queued."
    ),
    Message.HANDLE_INVALID: _(
        "Invalid organization handle “%(value)s”: use 1-30 lower-case letters, digits or _."
    ),
    Message.HANDLE_RESERVED: _("The handle “%(value)s” is reserved."),
    Message.ORGANIZATION_EXISTS: _("An organization named “%(value)s” already exists."),
    Message.ORGANIZATION_UNKNOWN: _("There is no organization named “%(value)s” on this node."),
    Message.NO_ORGANIZATION_YET: _("This node has no organization yet."),
    Message.NAME_REQUIRED: _("The name cannot be empty."),
    Message.NAME_TOO_LONG: _("The name is longer than %(limit)s characters."),
    Message.EVENT_NOT_FOUND: _("No such action or assembly on this node."),
    Message.ALERT_NOT_FOUND: _("No such alert on this node."),
    Message.DAY_NOT_FOUND: _("No such solidarity day on this node."),
    Message.REPORT_NOT_FOUND: _("No such report on this node."),
    Message.ORGANIZATION_NOT_FOUND: _("No such organization on this node."),
    Message.PARTICIPANT_NOT_FOUND: _("No such participant."),
    Message.CONTACT_MESSAGE_NOT_FOUND: _("No such contact message (it may have been deleted)."),
    Message.SIGNATURE_NOT_FOUND: _("No such signature (it may have been withdrawn)."),
    Message.SUBMISSION_NOT_FOUND: _(
        "No such plan: the link is wrong, or the plan was withdrawn or removed."
    ),
    Message.START_IN_PAST: _("This start is in the past: a plan is for an action to come."),
    Message.SUBMITTER_BLOCKED: _("Plans from this address are not accepted on this node."),
    Message.SUBMISSION_DECIDED: _(
        "This plan has already been decided on, so it can no longer be changed."
    ),
    Message.REASON_REQUIRED: _("Say why, so that the person who sent it understands."),
    Message.SIGNER_MESSAGE_NOT_FOUND: _("No such message to the signers."),
}
# A message without words would fail only when someone first meets it: fail at start instead.
if missing := set(Message) - set(WORDING):
    raise RuntimeError(f"web.messages has no wording for {sorted(missing)}")


def _param(value: Param, lang: str) -> str:
    if isinstance(value, int):
        return format_decimal(value, locale=i18n.locale(lang))
    return value


def word(message: Message, params: Mapping[str, Param], lang: str) -> str:
    """`message` in `lang`, its parameters filled in."""
    text = WORDING[message] if lang == i18n.DEFAULT else i18n.translate(WORDING[message], lang)
    return text % {name: _param(value, lang) for name, value in params.items()}


def problem(found: Problem, lang: str) -> str:
    return word(found.message, found.params, lang)


def beside_fields(error: ValidationError | None, lang: str) -> dict[str, str]:
    """Field name → what is wrong with it, in `lang`: what a form shows beside each field."""
    if error is None:
        return {}
    return {name: problem(found, lang) for name, found in error.problems.items()}


def sentences(error: ValidationError | NotFound, lang: str) -> str:
    """The whole refusal as one text: for an error page, or a line on the command line."""
    if isinstance(error, NotFound):
        return word(error.message, {}, lang)
    return " ".join(beside_fields(error, lang).values())


def for_terminal(error: Exception) -> str:
    """What `iwsn` prints of an error a person can fix: the domain's in English (with what was
    not found), any other as it says itself."""
    if isinstance(error, NotFound):
        text = sentences(error, i18n.DEFAULT)
        return f"{text} ({error.ref})" if error.ref else text
    if isinstance(error, ValidationError):
        return sentences(error, i18n.DEFAULT)
    return str(error)
