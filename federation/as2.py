"""ActivityStreams 2.0 pieces that no kind of content owns: the context, the public audience,
references, the public activity and `Tombstone` envelopes, and date-times in and out.

Each kind of content (events, alerts, days, ...) maps itself to AS2 and back in actors/; what
every such mapping needs, and must spell the same way, is here, so a new kind adds only its
own fields. Date-times go out in one spelling, always UTC ("2026-05-01T10:00:00Z"), and come
in as aware UTC whatever offset they were written with.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from federation.models import LocalActor

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS_CONTEXT}#Public"

# Mints a new id under our base URL, for an activity we are about to send.
IdFactory = Callable[[], str]


class Published(Protocol):
    """Any content we publish: it has an id, a last change and, once withdrawn, a deletion."""

    @property
    def uri(self) -> str: ...

    @property
    def updated_at(self) -> datetime: ...

    @property
    def deleted_at(self) -> datetime | None: ...


# Longer than any xsd:dateTime (fractions and offset included): not worth parsing.
_MAX_DATETIME_LENGTH = 64


def first_id(value: Any) -> str | None:
    """AS2 lets a reference be a string, an object with an id, or a one-item list."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        inner = value.get("id")
        return inner if isinstance(inner, str) else None
    if isinstance(value, list) and value:
        return first_id(value[0])
    return None


def with_context(context: Any, document: dict[str, Any]) -> dict[str, Any]:
    """A document served on its own (an object fetched by id) with the context it needs."""
    return {"@context": context, **document}


def public_activity(
    kind: str,
    id: str,
    actor: LocalActor,
    obj: Any,
    *,
    context: Any = AS_CONTEXT,
    published: datetime | None = None,
) -> dict[str, Any]:
    """An activity addressed as everything public we send: to Public, cc the actor's followers."""
    activity: dict[str, Any] = {"@context": context, "id": id, "type": kind, "actor": actor.uri}
    if published is not None:
        activity["published"] = format_datetime(published)
    activity["to"] = [PUBLIC]
    activity["cc"] = [actor.followers_uri]
    activity["object"] = obj
    return activity


def public_fields(actor: LocalActor, published: datetime, updated: datetime) -> dict[str, Any]:
    """What every object we publish carries: its author, its public audience, its two times."""
    return {
        "attributedTo": actor.uri,
        "to": [PUBLIC],
        "cc": [actor.followers_uri],
        "published": format_datetime(published),
        "updated": format_datetime(updated),
    }


def tombstone(item: Published, former_type: str) -> dict[str, Any]:
    """What a withdrawn item answers in its place (with 410), and what its `Delete` carries."""
    return {
        "id": item.uri,
        "type": "Tombstone",
        "formerType": former_type,
        "deleted": format_datetime(item.deleted_at or item.updated_at),
    }


def content_activity(
    kind: str,
    id: str,
    actor: LocalActor,
    item: Published,
    former_type: str,
    document: Callable[[], dict[str, Any]],
    context: Any,
) -> dict[str, Any]:
    """The `Create` or `Update` carrying an item's `document()` as it is now, or its `Delete`.

    Dated by the item's last change, so the activity and its object agree on when.
    """
    obj = tombstone(item, former_type) if kind == "Delete" else document()
    return public_activity(kind, id, actor, obj, context=context, published=item.updated_at)


def format_datetime(moment: datetime) -> str:
    """An xsd:dateTime in UTC, to the second, with "Z": how every server reads it.

    A naive datetime is taken as UTC, as everything we store is.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def datetime_as_written(value: Any) -> datetime | None:
    """An xsd:dateTime with the offset it was written with (naive if none); None if not one."""
    if not isinstance(value, str) or not value or len(value) > _MAX_DATETIME_LENGTH:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def parse_datetime(value: Any, *, naive_zone: tzinfo = UTC) -> datetime | None:
    """An xsd:dateTime ("...Z", "...+02:00") as aware UTC; None for anything else.

    One written without an offset is taken in `naive_zone` (UTC, as the spec has it, unless
    the document names its own zone).
    """
    moment = datetime_as_written(value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_zone)
    return moment.astimezone(UTC)
