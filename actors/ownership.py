"""Who may create, change or withdraw what we hold from another server.

The inbox already refuses an object whose id is on another server than its sender (FEP-fe34's
origin model). That is not enough on a server with many accounts: any of them could rewrite or
delete its neighbours' events (Mastodon CVE-2024-23832). So content pushed to us (a `Create`,
`Update` or `Delete` carrying or naming the object) is taken only from one of its owners:

- its organizer as we stored it (`attributedTo`: the organization, a Mobilizon group, Gancio's
  relay actor);
- the actor the origin names in the object's own `actor` (Mobilizon: the member who created a
  group's event, and who sends its `Update`s);
- the node actor (`Application`/`Service`) of the object's server, if we follow it: the
  instance or relay actor that passes on what its server publishes.

A document fetched from its own id (what an `Announce` brings) is the origin's word and needs
none of this. See docs/federation.md, "Who may change what".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import first_id
from federation.models import Following, RemoteActor
from federation.uris import host_of

NODE_ACTOR_TYPES = ("Application", "Service")


def owners(object_uri: str, organizer_uri: str | None, document: Any) -> set[str]:
    """The actors who speak for this object: its organizer and the origin's `actor` for it."""
    named = {organizer_uri}
    if isinstance(document, dict):
        named.add(first_id(document.get("actor")))
    host = host_of(object_uri)
    return {uri for uri in named if isinstance(uri, str) and host_of(uri) == host}


async def followed_node_actor(session: AsyncSession, actor_uri: str) -> bool:
    """Is this the instance or relay actor of its server, followed by us as such?"""
    found = await session.execute(
        select(Following.id)
        .join(RemoteActor, RemoteActor.uri == Following.target_uri)
        .where(
            Following.target_uri == actor_uri,
            Following.state == "accepted",
            RemoteActor.actor_type.in_(NODE_ACTOR_TYPES),
        )
    )
    return found.first() is not None


async def may_speak_for(
    session: AsyncSession, sender_uri: str, object_uri: str, owned_by: set[str]
) -> bool:
    """May `sender_uri` create, change or withdraw `object_uri`, whose owners are `owned_by`?"""
    if host_of(sender_uri) != host_of(object_uri):
        return False
    if sender_uri in owned_by:
        return True
    return await followed_node_actor(session, sender_uri)


class Held(Protocol):
    """What we keep of remote content: an event, a day, an alert."""

    uri: str
    is_local: bool
    origin_host: str
    origin_actor_uri: str
    document: dict[str, Any] | None
    updated_at: datetime


async def may_change(
    session: AsyncSession,
    held: Held | None,
    fields: dict[str, Any],
    document: dict[str, Any],
    sender: str | None,
) -> bool:
    """May this version (`fields` as read from `document`) replace what we hold, or be taken in?

    `sender` None: fetched from its own id, the origin's word. Pushed, it must come from an
    owner of what we hold (or, when new to us, of the object it brings), and it may not hand
    the object to another organizer.
    """
    if held is not None and (held.is_local or held.origin_host != fields["origin_host"]):
        return False
    if sender is None:
        return True
    if held is None:
        owned_by = owners(fields["uri"], fields["origin_actor_uri"], document)
    else:
        if fields["origin_actor_uri"] != held.origin_actor_uri:
            return False
        owned_by = owners(held.uri, held.origin_actor_uri, held.document)
    return await may_speak_for(session, sender, fields["uri"], owned_by)


async def may_withdraw(session: AsyncSession, held: Held, sender: str) -> bool:
    """May `sender` delete what we hold? Only one of its owners."""
    owned_by = owners(held.uri, held.origin_actor_uri, held.document)
    return await may_speak_for(session, sender, held.uri, owned_by)
