"""Our solidarity days as ActivityStreams: the all-day `Event`, its `Tombstone`, the activities.

A day is an `Event` marked `eventCategory: "solidarity-day"` (docs/federation.md), in the
events' context, so Mobilizon, Gancio and Mastodon show it as an event and iwsn nodes know it
for a day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from actors.day_text import summary_html
from actors.event_to_as import EVENT_CONTEXT
from actors.models import SolidarityDay
from actors.text import hashtag_objects
from federation import as2
from federation.as2 import IdFactory
from federation.models import LocalActor

CATEGORY = "solidarity-day"
# A day is an Event: the events' context, so readers know every field of it.
DAY_CONTEXT = EVENT_CONTEXT


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
        "startTime": as2.format_datetime(start),
        "endTime": as2.format_datetime(start + timedelta(days=1, seconds=-1)),
        "allDay": True,
        "timezone": "UTC",
        "url": day.url or day.uri,
        **as2.public_fields(actor, day.published_at, day.updated_at),
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


def activity(
    kind: str, base_url: str, new_id: IdFactory, day: SolidarityDay, actor: LocalActor
) -> dict[str, Any]:
    document = partial(day_object, base_url, day, actor)
    return as2.content_activity(kind, new_id(), actor, day, "Event", document, DAY_CONTEXT)


def tombstone(day: SolidarityDay) -> dict[str, Any]:
    return as2.tombstone(day, "Event")
