"""Our solidarity days as ActivityStreams: the all-day `Event`, its `Tombstone`, the activities.

A day is an `Event` marked `eventCategory: "solidarity-day"` (docs/federation.md), in the
events' context, so Mobilizon, Gancio and Mastodon show it as an event and iwsn nodes know it
for a day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from actors.day_text import summary_html
from actors.internal_to_as import EVENT_CONTEXT
from actors.models import SolidarityDay
from actors.text import hashtag_objects
from federation.delivery import PUBLIC
from federation.models import LocalActor
from federation.node import Federation

CATEGORY = "solidarity-day"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def day_object(base_url: str, day: SolidarityDay, actor: LocalActor) -> dict[str, Any]:
    start = datetime.combine(day.day, datetime.min.time(), tzinfo=UTC)
    return {
        "id": day.uri,
        "type": "Event",
        "name": f"Workers Solidarity Day: {day.theme}",
        "summary": summary_html(day, base_url),
        "content": day.description_html,
        "mediaType": "text/html",
        # All day: the date everywhere. AS2 wants an xsd:dateTime with an offset and Mobilizon
        # refuses an Event whose startTime has no time, so the date is written unshifted as
        # 00:00:00Z–23:59:59Z (one day in every reader) and `allDay` tells readers that know it
        # to take the date alone (docs/federation.md).
        "startTime": _stamp(start),
        "endTime": _stamp(start + timedelta(days=1, seconds=-1)),
        "allDay": True,
        "timezone": "UTC",
        "url": day.url or day.uri,
        "attributedTo": actor.uri,
        "to": [PUBLIC],
        "cc": [actor.followers_uri],
        "published": _stamp(day.published_at),
        "updated": _stamp(day.updated_at),
        "eventStatus": "https://schema.org/EventScheduled",
        "status": "CONFIRMED",
        "category": "MOVEMENTS_POLITICS",
        "eventCategory": CATEGORY,
        "theme": day.theme,
        "slogan": day.slogan,
        "tag": hashtag_objects([day.hashtag], base_url),
        "isOnline": False,
        "commentsEnabled": True,
        "repliesModerationOption": "allow_all",
        "anonymousParticipationEnabled": False,
    }


def tombstone(day: SolidarityDay) -> dict[str, Any]:
    return {
        "id": day.uri,
        "type": "Tombstone",
        "formerType": "Event",
        "deleted": _stamp(day.deleted_at or day.updated_at),
    }


def _activity(
    federation: Federation, kind: str, actor: LocalActor, obj: Any, day: SolidarityDay
) -> dict[str, Any]:
    return {
        "@context": EVENT_CONTEXT,
        "id": federation.new_id(),
        "type": kind,
        "actor": actor.uri,
        "published": _stamp(day.updated_at),
        "to": [PUBLIC],
        "cc": [actor.followers_uri],
        "object": obj,
    }


def create(federation: Federation, day: SolidarityDay, actor: LocalActor) -> dict[str, Any]:
    document = day_object(federation.config.base_url, day, actor)
    return _activity(federation, "Create", actor, document, day)


def update(federation: Federation, day: SolidarityDay, actor: LocalActor) -> dict[str, Any]:
    document = day_object(federation.config.base_url, day, actor)
    return _activity(federation, "Update", actor, document, day)


def delete(federation: Federation, day: SolidarityDay, actor: LocalActor) -> dict[str, Any]:
    return _activity(federation, "Delete", actor, tombstone(day), day)
