"""Boosts (`Announce`) from actors we follow: one fetch, then the domain that owns the object.

What a boost is about is known only once its object is fetched from its own server, which is
the only word we take for it; the events and the alerts would each fetch it otherwise, and
every node's fetch of a relayed alert lands on the one server that raised it.
"""

from __future__ import annotations

import logging

from actors import alert_relaying, remote_events, remote_reports
from actors.as_to_alert import is_alert
from actors.as_to_report import is_report
from actors.remote_events import followed
from federation.client import FetchError
from federation.handlers import HandlerRegistry, InboxContext

log = logging.getLogger(__name__)


async def on_announce(ctx: InboxContext) -> None:
    object_id = ctx.object_id
    if object_id is None:
        return
    async with ctx.federation.db.read() as session:
        if not await followed(session, ctx.actor.uri):
            return
        if await alert_relaying.held_already(session, ctx.activity, object_id):
            return
    try:
        document = await ctx.federation.client.get_json(
            object_id, signer=ctx.federation.actors.signer
        )
    except FetchError as exc:
        if exc.status == 410:
            # Boosted again after it was withdrawn: its own server says it is gone.
            await remote_events.withdrawn(ctx, object_id)
            await alert_relaying.withdrawn(ctx, object_id)
            await remote_reports.withdrawn(ctx, object_id)
        else:
            log.info("announced %s could not be fetched: %s", object_id, exc)
        return
    if document.get("id") != object_id:
        return
    if is_alert(document):
        await alert_relaying.announced(ctx, document)
    elif document.get("type") == "Event":
        await remote_events.announced(ctx, document)
    elif is_report(document):
        await remote_reports.announced(ctx, document)


def register(registry: HandlerRegistry) -> None:
    registry.add("Announce", on_announce)
