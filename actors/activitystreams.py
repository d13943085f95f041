"""The domain as ActivityStreams: what our actors look like on the wire."""

from __future__ import annotations

import html
from typing import Any

from actors.models import Organization
from federation.as2 import AS_CONTEXT, format_datetime
from federation.models import LocalActor

CONTEXT: list[Any] = [
    AS_CONTEXT,
    "https://w3id.org/security/v1",
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
        "mz": "https://joinmobilizon.org/ns#",
        "events": {"@id": "mz:events", "@type": "@id"},
        "iwsn": "https://iwsn.network/ns#",
        "upcomingEvents": {"@id": "iwsn:upcomingEvents", "@type": "@id"},
    },
]


def _actor_common(actor: LocalActor, shared_inbox: str) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "id": actor.uri,
        "type": actor.actor_type,
        "preferredUsername": actor.username,
        "inbox": actor.inbox_uri,
        "outbox": actor.outbox_uri,
        "followers": actor.followers_uri,
        "following": actor.following_uri,
        "endpoints": {"sharedInbox": shared_inbox},
        "manuallyApprovesFollowers": actor.manually_approves_followers,
        "published": format_datetime(actor.created_at),
        "publicKey": {
            "id": actor.key_id,
            "owner": actor.uri,
            "publicKeyPem": actor.public_key_pem,
        },
    }


def summary_html(text: str) -> str:
    """Plain text as the HTML AS2 expects: escaped, paragraphs and line breaks kept."""
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


def organization_actor(
    organization: Organization, actor: LocalActor, *, shared_inbox: str, page_url: str
) -> dict[str, Any]:
    document = _actor_common(actor, shared_inbox)
    document.update(
        {
            "name": organization.display_name,
            "summary": summary_html(organization.summary),
            "url": page_url,
            "discoverable": True,
            "indexable": True,
            # Its actions and assemblies still to come, as Mobilizon groups list their events.
            "events": f"{actor.uri}/events",
            "upcomingEvents": f"{actor.uri}/events",
        }
    )
    return document


def instance_actor(
    actor: LocalActor, *, shared_inbox: str, node_name: str, page_url: str
) -> dict[str, Any]:
    document = _actor_common(actor, shared_inbox)
    document.update(
        {
            "name": node_name,
            "summary": "The instance actor of this iwsn node: it signs the node's requests "
            "and relays what the node's organizations publish.",
            "url": page_url,
            "discoverable": False,
        }
    )
    return document
