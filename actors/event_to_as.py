"""Our events as ActivityStreams: the `Event` objects and activities we publish.

Shaped as Mobilizon and Gancio publish events (FEP-8a8e), so their servers and Mastodon read
them; what AS2 and Mobilizon lack goes in one documented namespace (docs/federation.md).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from actors import event_text
from actors.models import Event
from actors.text import hashtag_objects
from federation import as2
from federation.as2 import IdFactory
from federation.models import LocalActor

IWSN_NS = "https://iwsn.network/ns#"

EVENT_CONTEXT: list[Any] = [
    as2.AS_CONTEXT,
    {
        "sc": "http://schema.org/",
        "mz": "https://joinmobilizon.org/ns#",
        "ical": "http://www.w3.org/2002/12/cal/ical#",
        "iwsn": IWSN_NS,
        "Hashtag": "as:Hashtag",
        "PostalAddress": "sc:PostalAddress",
        "address": {"@id": "sc:address", "@type": "sc:PostalAddress"},
        "streetAddress": "sc:streetAddress",
        "addressLocality": "sc:addressLocality",
        "addressRegion": "sc:addressRegion",
        "postalCode": "sc:postalCode",
        "addressCountry": "sc:addressCountry",
        "eventStatus": {"@id": "sc:eventStatus", "@type": "@id"},
        "inLanguage": "sc:inLanguage",
        "maximumAttendeeCapacity": "sc:maximumAttendeeCapacity",
        "timezone": {"@id": "mz:timezone", "@type": "sc:Text"},
        "isOnline": {"@id": "mz:isOnline", "@type": "sc:Boolean"},
        "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
        "participantCount": {"@id": "mz:participantCount", "@type": "sc:Integer"},
        "anonymousParticipationEnabled": {
            "@id": "mz:anonymousParticipationEnabled",
            "@type": "sc:Boolean",
        },
        "category": "sc:category",
        "commentsEnabled": {"@id": "pt:commentsEnabled", "@type": "sc:Boolean"},
        "pt": "https://joinpeertube.org/ns#",
        "repliesModerationOption": {
            "@id": "mz:repliesModerationOption",
            "@type": "mz:repliesModerationOptionType",
        },
        "status": {"@id": "ical:status", "@type": "ical:status"},
        "kind": {"@id": "iwsn:kind", "@type": "sc:Text"},
        "eventCategory": {"@id": "iwsn:eventCategory", "@type": "sc:Text"},
        "agenda": {"@id": "iwsn:agenda", "@type": "sc:Text"},
        "sections": {"@id": "iwsn:sections", "@container": "@list"},
        "solidarityDay": {"@id": "iwsn:solidarityDay", "@type": "@id"},
        "contact": {"@id": "iwsn:contact", "@type": "sc:Text"},
        "theme": {"@id": "iwsn:theme", "@type": "sc:Text"},
        "slogan": {"@id": "iwsn:slogan", "@type": "sc:Text"},
        "allDay": {"@id": "iwsn:allDay", "@type": "sc:Boolean"},
    },
]

# Mobilizon's category for political events; its list is fixed, this is the one that fits.
CATEGORY = "MOVEMENTS_POLITICS"


def _time(moment: datetime, zone: ZoneInfo) -> str:
    # With the event's own offset: a reader without time-zone support still gets local time.
    return moment.astimezone(zone).isoformat(timespec="seconds")


def event_object(
    base_url: str, event: Event, actor: LocalActor, *, participant_count: int = 0
) -> dict[str, Any]:
    zone = ZoneInfo(event.timezone)
    document: dict[str, Any] = {
        "id": event.uri,
        "type": "Event",
        "name": event.title,
        "summary": event_text.summary_html(event, base_url),
        "content": event.description_html,
        "mediaType": "text/html",
        "startTime": _time(event.starts_at, zone),
        "timezone": event.timezone,
        "url": event.url or event.uri,
        **as2.public_fields(actor, event.published_at, event.updated_at),
        "eventStatus": (
            "https://schema.org/EventCancelled"
            if event.status == "cancelled"
            else "https://schema.org/EventScheduled"
        ),
        "status": "CANCELLED" if event.status == "cancelled" else "CONFIRMED",
        "category": CATEGORY,
        "kind": event.kind,
        "eventCategory": event.category,
        "tag": hashtag_objects(event.hashtags, base_url),
        "isOnline": bool(event.online_url) and not event.place_name,
        "commentsEnabled": True,
        "repliesModerationOption": "allow_all",
        "anonymousParticipationEnabled": False,
        "attachment": [],
    }
    if event.ends_at is not None:
        document["endTime"] = _time(event.ends_at, zone)
    if event.language:
        document["inLanguage"] = event.language
        document["contentMap"] = {event.language: event.description_html}
    if event.place_name or event.city:
        document["location"] = _place(event)
    if event.online_url:
        document["attachment"].append(
            {"type": "Link", "name": "Website", "href": event.online_url, "mediaType": "text/html"}
        )
    if event.contact:
        document["contact"] = event.contact
    if event.solidarity_day_uri:
        document["solidarityDay"] = event.solidarity_day_uri
        document["context"] = event.solidarity_day_uri
    if event.category == "assembly":
        document["joinMode"] = "free"
        document["participantCount"] = participant_count
        # Who takes part stays here; how many is public (Mobilizon shows the count).
        document["attendees"] = {
            "id": f"{event.uri}/attendees",
            "type": "Collection",
            "totalItems": participant_count,
        }
        if event.capacity:
            document["maximumAttendeeCapacity"] = event.capacity
        if event.agenda:
            document["agenda"] = event.agenda
        if event.sections:
            document["sections"] = event.sections
    return document


def _place(event: Event) -> dict[str, Any]:
    address = {
        "type": "PostalAddress",
        "streetAddress": event.street_address,
        "addressLocality": event.city,
        "postalCode": event.postal_code,
        "addressCountry": event.country,
    }
    place: dict[str, Any] = {
        "type": "Place",
        "name": event.place_name or event.city,
        "address": {key: value for key, value in address.items() if value},
    }
    if event.latitude is not None and event.longitude is not None:
        place["latitude"] = float(event.latitude)
        place["longitude"] = float(event.longitude)
    return place


def activity(
    kind: str,
    base_url: str,
    new_id: IdFactory,
    event: Event,
    actor: LocalActor,
    *,
    participant_count: int = 0,
) -> dict[str, Any]:
    """The `Create` or `Update` carrying the event as it is now, or the `Delete` of it.

    `participant_count`: an assembly's, which Mobilizon shows; who takes part stays here.
    """
    document = partial(event_object, base_url, event, actor, participant_count=participant_count)
    return as2.content_activity(kind, new_id(), actor, event, "Event", document, EVENT_CONTEXT)


def tombstone(event: Event) -> dict[str, Any]:
    return as2.tombstone(event, "Event")
