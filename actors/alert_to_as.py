"""Our alerts as ActivityStreams: the `Note`, its `Tombstone`, and the activities around them.

An alert is a public `Note` (Mastodon shows a Note in full) with the alert's fields in our
namespace (docs/federation.md, "Solidarity alerts"); every activity about it carries that
context, so a reader of the activity alone can still tell an alert from a post.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from actors.alert_text import content_html, where
from actors.event_to_as import EVENT_CONTEXT
from actors.models import Alert
from actors.text import hashtag_objects
from federation import as2
from federation.as2 import IdFactory
from federation.db import utcnow
from federation.models import LocalActor

ALERT_CONTEXT: list[Any] = [
    EVENT_CONTEXT[0],
    {
        **EVENT_CONTEXT[1],
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "alert": {"@id": "iwsn:alert", "@type": "xsd:boolean"},
        "alertTitle": {"@id": "iwsn:alertTitle", "@type": "sc:Text"},
        "alertText": {"@id": "iwsn:alertText", "@type": "sc:Text"},
        "urgency": {"@id": "iwsn:urgency", "@type": "sc:Text"},
        "asks": {"@id": "iwsn:asks", "@container": "@set"},
        "askText": {"@id": "iwsn:askText", "@type": "sc:Text"},
        "region": {"@id": "iwsn:region", "@type": "sc:Text"},
        "country": {"@id": "iwsn:country", "@type": "sc:Text"},
        "expires": {"@id": "iwsn:expires", "@type": "xsd:dateTime"},
        "alertStatus": {"@id": "iwsn:alertStatus", "@type": "sc:Text"},
        "hops": {"@id": "iwsn:hops", "@type": "xsd:integer"},
        "alertUpdated": {"@id": "iwsn:alertUpdated", "@type": "xsd:dateTime"},
        "originName": {"@id": "iwsn:originName", "@type": "sc:Text"},
    },
]


def note(base_url: str, alert: Alert, actor: LocalActor) -> dict[str, Any]:
    content = content_html(alert, base_url)
    document: dict[str, Any] = {
        "id": alert.uri,
        "type": "Note",
        "content": content,
        "url": alert.url or alert.uri,
        **as2.public_fields(actor, alert.published_at, alert.updated_at),
        "sensitive": False,
        "tag": hashtag_objects(alert.hashtags, base_url),
        "alert": True,
        "alertTitle": alert.title,
        "alertText": alert.text,
        "urgency": alert.urgency,
        "asks": list(alert.asks),
        "askText": alert.ask_text,
        "region": alert.region,
        "country": alert.country,
        "expires": as2.format_datetime(alert.expires_at),
        "alertStatus": alert.status,
        # Receivers name who raised it without fetching the origin's actor: with 50 nodes
        # asking at once, that fetch was a good part of each hop's delay.
        "originName": alert.origin_name,
        # Every attachment with a mediaType: Gancio refuses one without.
        "attachment": [
            {"type": "Link", "href": link, "mediaType": "text/html"} for link in alert.links
        ],
    }
    if alert.language:
        document["contentMap"] = {alert.language: content}
    if alert.latitude is not None and alert.longitude is not None:
        document["location"] = {
            "type": "Place",
            "name": where(alert),
            "latitude": alert.latitude,
            "longitude": alert.longitude,
        }
    return document


def activity(
    kind: str, base_url: str, new_id: IdFactory, alert: Alert, actor: LocalActor
) -> dict[str, Any]:
    document = partial(note, base_url, alert, actor)
    return as2.content_activity(kind, new_id(), actor, alert, "Note", document, ALERT_CONTEXT)


def tombstone(alert: Alert) -> dict[str, Any]:
    return as2.tombstone(alert, "Note")


def announce(new_id: IdFactory, alert: Alert, actor: LocalActor) -> dict[str, Any]:
    """A relay of someone else's alert: by id only, so every reader fetches it from its origin.

    `hops` says how far the alert has come, for the next node's count; `alertUpdated` which
    version is passed on, so that a node holding it already need not ask the origin again
    (every node's fetch lands on that one server).
    """
    relay = as2.public_activity(
        "Announce", new_id(), actor, alert.uri, context=ALERT_CONTEXT, published=utcnow()
    )
    return relay | {"hops": alert.hops, "alertUpdated": as2.format_datetime(alert.updated_at)}


def undo(new_id: IdFactory, actor: LocalActor, sent: dict[str, Any]) -> dict[str, Any]:
    """Takes back an activity we sent, embedded as it was sent (without its own context)."""
    embedded = {key: value for key, value in sent.items() if key != "@context"}
    return as2.public_activity("Undo", new_id(), actor, embedded, context=ALERT_CONTEXT)
