"""Counts of signatures that other nodes tell us: by an `Update` when theirs changes, and read
once from them when they accept our follow.

Each node is the only source of its own count: a count is kept only for a collection on the
sender's own host (`signatures.record_remote_count`), so no peer can speak for another node.
"""

from __future__ import annotations

import logging

from actors import signatures
from actors.signatures_to_as import PATH
from federation.client import FetchError
from federation.handlers import HandlerRegistry, InboxContext
from federation.uris import host_of

log = logging.getLogger(__name__)


def register(registry: HandlerRegistry) -> None:
    registry.add("Update", on_update, objects=("OrderedCollection", "Collection"))
    # After federation.follows' own Accept handler: the follow is accepted by then.
    registry.add("Accept", on_follow_accepted)


async def on_update(ctx: InboxContext) -> None:
    async with ctx.transaction() as session:
        if not await signatures.record_remote_count(session, ctx.actor.uri, ctx.object):
            log.info("count of signatures from %s not kept", ctx.actor.uri)


async def on_follow_accepted(ctx: InboxContext) -> None:
    """A node we follow now: read its count at once rather than wait for its next change.
    Runs in the inbox processor, never on a page's path; a node without one is no matter."""
    async with ctx.federation.db.read() as session:
        followed = await signatures.followed_hosts(session)
    host = host_of(ctx.actor.uri)
    if host not in followed:
        return
    scheme = ctx.actor.uri.partition("://")[0]
    url = f"{scheme}://{host}{PATH}"
    try:
        document = await ctx.federation.client.get_json(url, signer=ctx.federation.actors.signer)
    except FetchError as exc:
        log.info("no count of signatures at %s: %s", url, exc)
        return
    async with ctx.transaction() as session:
        await signatures.record_remote_count(session, ctx.actor.uri, document)
