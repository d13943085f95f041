"""Publishing, stage one and two: an activity and its audience, then one row per inbox."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import PUBLIC
from federation.db import utcnow
from federation.host_health import unavailable_hosts
from federation.models import Delivery, DeliveryState, Follower, LocalActor, OutboxActivity
from federation.uris import host_of
from federation.wakeups import notify_with_commit

LANE_NORMAL = 0
# Alerts: claimed before any backlog of ordinary deliveries.
LANE_PRIORITY = 10


async def follower_inboxes(session: AsyncSession, actor: LocalActor) -> list[str]:
    """Accepted followers' inboxes, one per server where it offers a shared inbox."""
    return sorted(await _inboxes_of_followers(session, [actor.id]))


async def _inboxes_of_followers(session: AsyncSession, actor_ids: Iterable[int]) -> set[str]:
    ids = list(actor_ids)
    if not ids:
        return set()
    rows = await session.execute(
        select(Follower.inbox, Follower.shared_inbox).where(
            Follower.local_actor_id.in_(ids), Follower.state == "accepted"
        )
    )
    return {shared or inbox for inbox, shared in rows}


def is_public(activity: dict[str, Any]) -> bool:
    audience: list[Any] = []
    for key in ("to", "cc"):
        value = activity.get(key)
        audience.extend(value if isinstance(value, list) else [value])
    return PUBLIC in audience or "as:Public" in audience or "Public" in audience


async def enqueue(
    session: AsyncSession,
    activity: dict[str, Any],
    *,
    actor: LocalActor,
    own_host: str,
    wake: Callable[[], None] | None,
    inboxes: Iterable[str] = (),
    followers_of: Iterable[LocalActor] = (),
    except_followers_of: Iterable[LocalActor] = (),
    priority: int = LANE_NORMAL,
) -> OutboxActivity:
    """Store the activity and its audience, in the caller's transaction.

    Called inside the transaction that makes the change it announces, so a crash can never
    publish a change that was not stored, nor store one that is never published. The audience
    (explicit inboxes, plus the followers of some of our actors) becomes one delivery row per
    distinct inbox when a worker expands it: see `expand_fanouts`. `wake` is called once the
    caller's transaction commits, to set the workers going at once instead of at their next
    poll (`Federation.enqueue` passes its own; None leaves the rows to the poll).
    """
    obj = activity.get("object")
    object_uri = obj.get("id") if isinstance(obj, dict) else obj if isinstance(obj, str) else None
    outbox = OutboxActivity(
        uri=activity["id"],
        local_actor_id=actor.id,
        activity_type=activity["type"],
        object_uri=object_uri,
        body=activity,
        public=is_public(activity),
        fanout_pending=True,
        priority=priority,
        audience_inboxes=sorted({i for i in inboxes if host_of(i) != own_host}),
        audience_followers_of=sorted({a.id for a in followers_of}),
        audience_except_followers_of=sorted({a.id for a in except_followers_of}),
    )
    session.add(outbox)
    await session.flush()
    await notify_with_commit(session, "delivery")
    if wake is not None:
        event.listen(session.sync_session, "after_commit", lambda _s: wake(), once=True)
    return outbox


FANOUT_BATCH = 20


async def expand_fanouts(
    db: Any, own_host: str, *, now: datetime | None = None, limit: int = FANOUT_BATCH
) -> int:
    """Stage two: turn pending audiences into delivery rows. Returns how many were expanded."""
    async with db.transaction() as session:
        pending = (
            (
                await session.execute(
                    select(OutboxActivity)
                    .where(OutboxActivity.fanout_pending.is_(True))
                    .order_by(OutboxActivity.priority.desc(), OutboxActivity.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        now = now or utcnow()
        for outbox in pending:
            targets = set(outbox.audience_inboxes)
            targets |= await _inboxes_of_followers(session, outbox.audience_followers_of)
            targets -= await _inboxes_of_followers(session, outbox.audience_except_followers_of)
            targets = await _deliverable(session, targets, own_host)
            rows = [
                {
                    "activity_id": outbox.id,
                    "inbox": inbox,
                    "host": host_of(inbox),
                    "priority": outbox.priority,
                    "state": DeliveryState.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for inbox in sorted(targets)
            ]
            if rows:
                # One multi-row INSERT per chunk instead of one ORM object per follower server.
                await session.execute(insert(Delivery.__table__), rows)
            outbox.fanout_pending = False
        return len(pending)


async def _deliverable(session: AsyncSession, inboxes: set[str], own_host: str) -> set[str]:
    """The inboxes that get a row: not ours, and not on a host we have given up on."""
    by_host: dict[str, set[str]] = {}
    for inbox in inboxes:
        by_host.setdefault(host_of(inbox), set()).add(inbox)
    by_host.pop(own_host, None)
    for host in await unavailable_hosts(session):
        by_host.pop(host, None)
    return {inbox for group in by_host.values() for inbox in group}
