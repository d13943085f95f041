"""The social graph: Follow, Accept, Reject, Undo — ours and theirs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation import webfinger
from federation.as2 import AS_CONTEXT, first_id
from federation.client import FetchError
from federation.handlers import HandlerRegistry, InboxContext
from federation.models import Follower, Following, LocalActor, RemoteActor
from federation.uris import normalize_uri

if TYPE_CHECKING:
    from federation.node import Federation


class FollowError(Exception):
    pass


def register(registry: HandlerRegistry) -> None:
    registry.add("Follow", on_follow)
    registry.add("Accept", on_accept)
    registry.add("Reject", on_reject)
    registry.add("Undo", on_undo)
    registry.add("Delete", on_actor_deleted)


def _accept_or_reject(
    federation: Federation, kind: str, local: LocalActor, follower: Follower
) -> dict[str, Any]:
    # Mastodon matches the Accept to its request by the embedded Follow's id.
    return {
        "@context": AS_CONTEXT,
        "id": federation.new_id(),
        "type": kind,
        "actor": local.uri,
        "to": [follower.actor_uri],
        "object": {
            "id": follower.follow_activity_uri,
            "type": "Follow",
            "actor": follower.actor_uri,
            "object": local.uri,
        },
    }


async def on_follow(ctx: InboxContext) -> None:
    target = ctx.object_id
    if target is None:
        return
    async with ctx.transaction() as session:
        local = await ctx.federation.local_actor_by_uri(session, target)
        if local is None:
            return
        follower = (
            await session.execute(
                select(Follower).where(
                    Follower.local_actor_id == local.id, Follower.actor_uri == ctx.actor.uri
                )
            )
        ).scalar_one_or_none()
        if follower is None:
            follower = Follower(local_actor_id=local.id, actor_uri=ctx.actor.uri, state="pending")
            session.add(follower)
        # A repeated Follow (the remote lost track) gets a fresh Accept for its new id.
        follower.inbox = ctx.actor.inbox
        follower.shared_inbox = ctx.actor.shared_inbox
        follower.follow_activity_uri = ctx.activity["id"]
        if not local.manually_approves_followers or follower.state == "accepted":
            follower.state = "accepted"
            await session.flush()
            await _answer(ctx.federation, session, "Accept", local, follower)


async def _answer(
    federation: Federation, session: AsyncSession, kind: str, local: LocalActor, follower: Follower
) -> None:
    await federation.enqueue(
        session,
        _accept_or_reject(federation, kind, local, follower),
        actor=local,
        inboxes=[follower.inbox],
    )


async def approve_follower(federation: Federation, local: LocalActor, actor_uri: str) -> None:
    async with federation.db.transaction() as session:
        follower = await _follower(session, local, actor_uri)
        follower.state = "accepted"
        await _answer(federation, session, "Accept", local, follower)


async def reject_follower(federation: Federation, local: LocalActor, actor_uri: str) -> None:
    """Refuse a pending request, or remove an accepted follower (Mastodon's 'remove follower')."""
    async with federation.db.transaction() as session:
        follower = await _follower(session, local, actor_uri)
        await _answer(federation, session, "Reject", local, follower)
        await session.delete(follower)


async def _follower(session: AsyncSession, local: LocalActor, actor_uri: str) -> Follower:
    follower = (
        await session.execute(
            select(Follower).where(
                Follower.local_actor_id == local.id,
                Follower.actor_uri == normalize_uri(actor_uri),
            )
        )
    ).scalar_one_or_none()
    if follower is None:
        raise FollowError(f"{actor_uri} does not follow {local.username}")
    return follower


async def _our_follow(ctx: InboxContext, session: AsyncSession) -> Following | None:
    """The Following row an Accept/Reject answers: by the Follow's id, else by who and whom."""
    obj = ctx.object
    follow_id = first_id(obj)
    row = None
    if follow_id:
        row = (
            await session.execute(
                select(Following).where(Following.follow_activity_uri == follow_id)
            )
        ).scalar_one_or_none()
    if row is None and isinstance(obj, dict) and obj.get("type") == "Follow":
        local = await ctx.federation.local_actor_by_uri(session, first_id(obj.get("actor")) or "")
        if local is not None:
            row = (
                await session.execute(
                    select(Following).where(
                        Following.local_actor_id == local.id,
                        Following.target_uri == ctx.actor.uri,
                    )
                )
            ).scalar_one_or_none()
    # Only the followed actor may answer for itself.
    if row is not None and row.target_uri != ctx.actor.uri:
        return None
    return row


async def on_accept(ctx: InboxContext) -> None:
    async with ctx.transaction() as session:
        row = await _our_follow(ctx, session)
        if row is not None:
            row.state = "accepted"


async def on_reject(ctx: InboxContext) -> None:
    async with ctx.transaction() as session:
        row = await _our_follow(ctx, session)
        if row is not None:
            row.state = "rejected"


async def on_undo(ctx: InboxContext) -> None:
    obj = ctx.object
    inner_type = obj.get("type") if isinstance(obj, dict) else None
    undone_id = first_id(obj)
    async with ctx.transaction() as session:
        query = delete(Follower).where(Follower.actor_uri == ctx.actor.uri)
        if inner_type == "Follow" and isinstance(obj, dict):
            local = await ctx.federation.local_actor_by_uri(
                session, first_id(obj.get("object")) or ""
            )
            if local is None:
                return
            await session.execute(query.where(Follower.local_actor_id == local.id))
        elif inner_type is None and undone_id:
            # A bare id: it is a Follow of ours only if it matches one we hold.
            await session.execute(query.where(Follower.follow_activity_uri == undone_id))


async def on_actor_deleted(ctx: InboxContext) -> None:
    if ctx.object_id != ctx.actor.uri:
        return
    async with ctx.transaction() as session:
        await session.execute(delete(Follower).where(Follower.actor_uri == ctx.actor.uri))
        await session.execute(delete(Following).where(Following.target_uri == ctx.actor.uri))


async def inbox_gone(session: AsyncSession, inbox: str) -> None:
    """A delivery to `inbox` was answered 410 Gone: what that says about our followers.

    An actor's own inbox answering 410 means that actor is gone: it stops following us
    (Fedify's permanent-failure rule). A shared inbox answering 410 says nothing about any
    one of the followers behind it, only that the server no longer takes deliveries there:
    they keep following, but get their own inboxes from now on, and each of those that is
    gone too answers 410 for itself.
    """
    await session.execute(delete(Follower).where(Follower.inbox == inbox))
    await session.execute(
        update(Follower).where(Follower.shared_inbox == inbox).values(shared_inbox=None)
    )


async def resolve_target(federation: Federation, target: str) -> str:
    """The actor id for what a person typed: an actor URL, `@name@host`, or a bare domain.

    A bare domain means the whole node: its relay/instance actor, found as Mobilizon finds it
    (WebFinger `relay@host`), else at this project's `/actor`.
    """
    target = target.strip()
    if target.startswith(("http://", "https://")):
        return target
    if "@" not in target:
        if not target or "/" in target or " " in target:
            raise ValueError(f"not a handle, actor URL or domain: {target!r}")
        try:
            return await webfinger.lookup(federation.client, f"relay@{target}")
        except FetchError:
            scheme = "http" if federation.config.allow_local else "https"
            return f"{scheme}://{target}/actor"
    return await webfinger.lookup(federation.client, target)


async def follow(federation: Federation, local: LocalActor, target_uri: str) -> Following:
    """Ask to follow a remote actor; pending until its Accept arrives."""
    target: RemoteActor = await federation.actors.get(target_uri)
    async with federation.db.transaction() as session:
        row = (
            await session.execute(
                select(Following).where(
                    Following.local_actor_id == local.id, Following.target_uri == target.uri
                )
            )
        ).scalar_one_or_none()
        activity_id = federation.new_id()
        if row is None:
            row = Following(local_actor_id=local.id, target_uri=target.uri)
            session.add(row)
        if row.state != "accepted":
            row.state = "pending"
        row.follow_activity_uri = activity_id
        await federation.enqueue(
            session,
            {
                "@context": AS_CONTEXT,
                "id": activity_id,
                "type": "Follow",
                "actor": local.uri,
                "object": target.uri,
                "to": [target.uri],
            },
            actor=local,
            inboxes=[target.inbox],
        )
    return row


async def unfollow(federation: Federation, local: LocalActor, target_uri: str) -> None:
    target = await federation.actors.get(target_uri)
    async with federation.db.transaction() as session:
        row = (
            await session.execute(
                select(Following).where(
                    Following.local_actor_id == local.id, Following.target_uri == target.uri
                )
            )
        ).scalar_one_or_none()
        if row is None:
            raise FollowError(f"{local.username} does not follow {target.uri}")
        await federation.enqueue(
            session,
            {
                "@context": AS_CONTEXT,
                "id": federation.new_id(),
                "type": "Undo",
                "actor": local.uri,
                "to": [target.uri],
                "object": {
                    "id": row.follow_activity_uri,
                    "type": "Follow",
                    "actor": local.uri,
                    "object": target.uri,
                },
            },
            actor=local,
            inboxes=[target.inbox],
        )
        await session.delete(row)


# --- reading ----------------------------------------------------------------------------


def _other_end(model: type[Follower] | type[Following]) -> Any:
    return Follower.actor_uri if model is Follower else Following.target_uri


async def accepted_count(
    session: AsyncSession, model: type[Follower] | type[Following], local: LocalActor
) -> int:
    """How many follow `local` (Follower) or are followed by it (Following), once accepted."""
    return (
        await session.execute(
            select(func.count(model.id)).where(
                model.local_actor_id == local.id, model.state == "accepted"
            )
        )
    ).scalar_one()


async def accepted_page(
    session: AsyncSession,
    model: type[Follower] | type[Following],
    local: LocalActor,
    *,
    offset: int,
    limit: int,
) -> list[str]:
    """Ids of the actors at the other end of accepted follows, newest first."""
    return list(
        (
            await session.execute(
                select(_other_end(model))
                .where(model.local_actor_id == local.id, model.state == "accepted")
                .order_by(model.id.desc())
                .offset(offset)
                .limit(limit)
            )
        ).scalars()
    )


async def latest(
    session: AsyncSession, model: type[Follower] | type[Following], *, limit: int = 200
) -> list[Any]:
    """The newest follows of every local actor, in any state."""
    return list(
        (await session.execute(select(model).order_by(model.created_at.desc()).limit(limit)))
        .scalars()
        .all()
    )


async def graph(
    session: AsyncSession, model: type[Follower] | type[Following], *, state: str | None = None
) -> list[tuple[str, str, str]]:
    """(local username, other end's id, state) of every follow, by local actor."""
    query = (
        select(LocalActor.username, _other_end(model), model.state)
        .join(LocalActor, model.local_actor_id == LocalActor.id)
        .order_by(LocalActor.username, model.id)
    )
    if state:
        query = query.where(model.state == state)
    return [(username, uri, row_state) for username, uri, row_state in await session.execute(query)]
