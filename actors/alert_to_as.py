"""Our alerts as ActivityStreams: the `Note`, its `Tombstone`, and the activities around them.

An alert is a public `Note` (Mastodon shows a Note in full) with the alert's fields in our
namespace (docs/federation.md, "Solidarity alerts"); every activity about it carries that
context, so a reader of the activity alone can still tell an alert from a post.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from actors.alert_text import content_html, where
from actors.internal_to_as import EVENT_CONTEXT
from actors.models import Alert
from actors.text import hashtag_objects
from federation.db import utcnow
from federation.delivery import PUBLIC
from federation.models import LocalActor
from federation.node import Federation

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


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def note(base_url: str, alert: Alert, actor_uri: str, followers_uri: str) -> dict[str, Any]:
    content = content_html(alert, base_url)
    document: dict[str, Any] = {
        "id": alert.uri,
        "type": "Note",
        "attributedTo": actor_uri,
        "content": content,
        "url": alert.url or alert.uri,
        "to": [PUBLIC],
        "cc": [followers_uri],
        "published": _stamp(alert.published_at),
        "updated": _stamp(alert.updated_at),
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
        "expires": _stamp(alert.expires_at),
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


def tombstone(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.uri,
        "type": "Tombstone",
        "formerType": "Note",
        "deleted": _stamp(alert.deleted_at or alert.updated_at),
    }


def with_context(document: dict[str, Any]) -> dict[str, Any]:
    return {"@context": ALERT_CONTEXT, **document}


def _activity(
    federation: Federation, kind: str, actor: LocalActor, obj: Any, alert: Alert
) -> dict[str, Any]:
    return {
        "@context": ALERT_CONTEXT,
        "id": federation.new_id(),
        "type": kind,
        "actor": actor.uri,
        "published": _stamp(alert.updated_at),
        "to": [PUBLIC],
        "cc": [actor.followers_uri],
        "object": obj,
    }


def create(federation: Federation, alert: Alert, actor: LocalActor) -> dict[str, Any]:
    document = note(federation.config.base_url, alert, actor.uri, actor.followers_uri)
    return _activity(federation, "Create", actor, document, alert)


def update(federation: Federation, alert: Alert, actor: LocalActor) -> dict[str, Any]:
    document = note(federation.config.base_url, alert, actor.uri, actor.followers_uri)
    return _activity(federation, "Update", actor, document, alert)


def delete(federation: Federation, alert: Alert, actor: LocalActor) -> dict[str, Any]:
    return _activity(federation, "Delete", actor, tombstone(alert), alert)


def announce(federation: Federation, alert: Alert, actor: LocalActor) -> dict[str, Any]:
    """A relay of someone else's alert: by id only, so every reader fetches it from its origin.

    `hops` says how far the alert has come, for the next node's count; `alertUpdated` which
    version is passed on, so that a node holding it already need not ask the origin again
    (every node's fetch lands on that one server).
    """
    return {
        "@context": ALERT_CONTEXT,
        "id": federation.new_id(),
        "type": "Announce",
        "actor": actor.uri,
        "object": alert.uri,
        "published": _stamp(utcnow()),
        "to": [PUBLIC],
        "cc": [actor.followers_uri],
        "hops": alert.hops,
        "alertUpdated": _stamp(alert.updated_at),
    }


def undo(federation: Federation, actor: LocalActor, activity: dict[str, Any]) -> dict[str, Any]:
    """Takes back an activity we sent, embedded as it was sent (without its own context)."""
    embedded = {key: value for key, value in activity.items() if key != "@context"}
    return {
        "@context": ALERT_CONTEXT,
        "id": federation.new_id(),
        "type": "Undo",
        "actor": actor.uri,
        "object": embedded,
        "to": [PUBLIC],
        "cc": [actor.followers_uri],
    }
