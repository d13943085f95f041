"""Taking part in Workers Assemblies: registrations here, and Join/Leave from the fediverse.

Mobilizon's model: a `Join` of the event is answered with an `Accept` (or `Reject`) naming the
`Join`; `Leave` withdraws. When the assembly is full, a newcomer gets a waiting-list place,
answered with `TentativeAccept`, and moves up (with an `Accept`) when someone leaves. Events
that take no registrations answer `Ignore`, as FEP-8a8e asks. Friendica answers the event
itself with Accept / TentativeAccept / Reject: going, maybe, not going.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.errors import Message, NotFound, ValidationError
from actors.models import Event, Organization, Participant
from actors.text import display_name
from federation.as2 import AS_CONTEXT
from federation.db import rowcount
from federation.handlers import HandlerRegistry, InboxContext
from federation.models import LocalActor
from federation.node import Federation

FRIENDICA_ANSWERS = {"Accept": "going", "TentativeAccept": "maybe"}
MAX_NAME = 200


def register(registry: HandlerRegistry) -> None:
    registry.add("Join", on_join)
    registry.add("Leave", on_leave)
    for answer in ("Accept", "TentativeAccept", "Reject"):
        registry.add(answer, on_answer_to_event)


def _name_of(ctx: InboxContext) -> str:
    return display_name(ctx.actor.name, ctx.actor.username, ctx.actor.uri, limit=200) or ""


async def going_count(session: AsyncSession, event_id: int) -> int:
    return (
        await session.execute(
            select(func.count(Participant.id)).where(
                Participant.event_id == event_id, Participant.state == "going"
            )
        )
    ).scalar_one()


async def _assembly(session: AsyncSession, uri: str | None) -> tuple[Event, LocalActor] | None:
    if uri is None:
        return None
    row = (
        await session.execute(
            select(Event, LocalActor)
            .join(Organization, Event.organization_id == Organization.id)
            .join(LocalActor, Organization.local_actor_id == LocalActor.id)
            .where(Event.uri == uri, Event.is_local.is_(True))
        )
    ).first()
    return (row[0], row[1]) if row else None


def _answer(
    federation: Federation, kind: str, organizer: LocalActor, participant_uri: str, join: Any
) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": federation.new_id(),
        "type": kind,
        "actor": organizer.uri,
        "to": [participant_uri],
        "object": join,
    }


async def _send(
    federation: Federation,
    session: AsyncSession,
    organizer: LocalActor,
    activity: dict[str, Any],
    inbox: str,
) -> None:
    await federation.enqueue(session, activity, actor=organizer, inboxes=[inbox])


async def _tell(
    federation: Federation,
    session: AsyncSession,
    organizer: LocalActor,
    participant: Participant,
    kind: str,
) -> None:
    """Answer a fediverse participant's Join (Accept, Reject); local registrants need nothing."""
    if not (participant.actor_uri and participant.join_activity_uri):
        return
    actor = await federation.actors.cached(participant.actor_uri)
    if actor is None:
        return
    await _send(
        federation,
        session,
        organizer,
        _answer(federation, kind, organizer, participant.actor_uri, participant.join_activity_uri),
        actor.inbox,
    )


def open_for_registration(event: Event) -> bool:
    return event.category == "assembly" and event.status != "cancelled" and event.deleted_at is None


async def on_join(ctx: InboxContext) -> None:
    async with ctx.transaction() as session:
        found = await _assembly(session, ctx.object_id)
        if found is None:
            return
        event, organizer = found
        join = ctx.activity["id"]
        if not open_for_registration(event):
            kind = "Ignore" if event.category != "assembly" else "Reject"
            await _send(
                ctx.federation,
                session,
                organizer,
                _answer(ctx.federation, kind, organizer, ctx.actor.uri, join),
                ctx.actor.inbox,
            )
            return
        participant = (
            await session.execute(
                select(Participant).where(
                    Participant.event_id == event.id, Participant.actor_uri == ctx.actor.uri
                )
            )
        ).scalar_one_or_none()
        if participant is None:
            participant = Participant(
                event_id=event.id,
                actor_uri=ctx.actor.uri,
                name=_name_of(ctx),
                state="maybe",
            )
            session.add(participant)
        if participant.state not in ("going", "waiting"):
            # A firm Join, also from someone who had said "maybe": a place or the waiting list.
            full = bool(event.capacity) and await going_count(session, event.id) >= (
                event.capacity or 0
            )
            participant.state = "waiting" if full else "going"
        participant.join_activity_uri = join
        kind = "TentativeAccept" if participant.state == "waiting" else "Accept"
        await _send(
            ctx.federation,
            session,
            organizer,
            _answer(ctx.federation, kind, organizer, ctx.actor.uri, join),
            ctx.actor.inbox,
        )


async def on_leave(ctx: InboxContext) -> None:
    async with ctx.transaction() as session:
        found = await _assembly(session, ctx.object_id)
        if found is None:
            return
        event, organizer = found
        result = await session.execute(
            delete(Participant).where(
                Participant.event_id == event.id, Participant.actor_uri == ctx.actor.uri
            )
        )
        if rowcount(result):
            await _move_up_waiting(ctx.federation, session, event, organizer)


async def on_answer_to_event(ctx: InboxContext) -> None:
    """Friendica answers an event invitation with Accept/TentativeAccept/Reject of the Event."""
    async with ctx.transaction() as session:
        found = await _assembly(session, ctx.object_id)
        if found is None:
            return  # not about one of our events: an answer to a Follow, handled elsewhere
        event, organizer = found
        participant = (
            await session.execute(
                select(Participant).where(
                    Participant.event_id == event.id, Participant.actor_uri == ctx.actor.uri
                )
            )
        ).scalar_one_or_none()
        answer = ctx.activity["type"]
        if answer == "Reject":
            if participant is not None:
                await session.delete(participant)
                await session.flush()
                await _move_up_waiting(ctx.federation, session, event, organizer)
            return
        if participant is None:
            participant = Participant(
                event_id=event.id,
                actor_uri=ctx.actor.uri,
                name=_name_of(ctx),
                state=FRIENDICA_ANSWERS[answer],
            )
            session.add(participant)
        elif participant.state != "waiting":
            participant.state = FRIENDICA_ANSWERS[answer]


async def _move_up_waiting(
    federation: Federation, session: AsyncSession, event: Event, organizer: LocalActor
) -> None:
    """A place came free: the longest-waiting person gets it, and is told so."""
    if event.capacity and await going_count(session, event.id) >= event.capacity:
        return
    waiting = (
        await session.execute(
            select(Participant)
            .where(Participant.event_id == event.id, Participant.state == "waiting")
            .order_by(Participant.created_at, Participant.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if waiting is None:
        return
    waiting.state = "going"
    await _tell(federation, session, organizer, waiting, "Accept")


async def register_locally(
    federation: Federation, event_uri: str, *, name: str, email: str | None
) -> Participant:
    """Someone signs up on the assembly's page; their email stays on this node."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError.one("name", Message.YOUR_NAME_REQUIRED)
    if len(name) > MAX_NAME:
        raise ValidationError.one("name", Message.NAME_TOO_LONG, limit=MAX_NAME)
    email = (email or "").strip() or None
    if email and ("@" not in email or len(email) > 320 or " " in email):
        raise ValidationError.one("email", Message.EMAIL_INVALID)
    async with federation.db.transaction() as session:
        found = await _assembly(session, event_uri)
        if found is None or not open_for_registration(found[0]):
            raise ValidationError.one("event", Message.NO_REGISTRATIONS)
        event, _organizer = found
        full = bool(event.capacity) and await going_count(session, event.id) >= (
            event.capacity or 0
        )
        participant = Participant(
            event_id=event.id, name=name, email=email, state="waiting" if full else "going"
        )
        session.add(participant)
    return participant


async def counts(session: AsyncSession, event_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(Participant.state, func.count(Participant.id))
        .where(Participant.event_id == event_id)
        .group_by(Participant.state)
    )
    found = {"going": 0, "waiting": 0, "maybe": 0}
    found.update({state: count for state, count in rows})
    return found


async def participants(session: AsyncSession, event_id: int) -> list[Participant]:
    return list(
        (
            await session.execute(
                select(Participant)
                .where(Participant.event_id == event_id)
                .order_by(Participant.state, Participant.created_at, Participant.id)
            )
        ).scalars()
    )


async def _organizer_of(
    session: AsyncSession, participant: Participant
) -> tuple[Event, LocalActor]:
    row = (
        await session.execute(
            select(Event, LocalActor)
            .join(Organization, Event.organization_id == Organization.id)
            .join(LocalActor, Organization.local_actor_id == LocalActor.id)
            .where(Event.id == participant.event_id)
        )
    ).one()
    return row[0], row[1]


async def admit(federation: Federation, participant_id: int) -> Participant:
    """An organizer gives someone waiting (or undecided) a place, beyond the capacity if need be."""
    async with federation.db.transaction() as session:
        participant = await session.get(Participant, participant_id)
        if participant is None:
            raise NotFound(Message.PARTICIPANT_NOT_FOUND, str(participant_id))
        _event, organizer = await _organizer_of(session, participant)
        if participant.state == "going":
            return participant
        participant.state = "going"
        await _tell(federation, session, organizer, participant, "Accept")
    return participant


async def remove(federation: Federation, participant_id: int) -> None:
    """An organizer takes someone off the list; a fediverse participant is told (Reject)."""
    async with federation.db.transaction() as session:
        participant = await session.get(Participant, participant_id)
        if participant is None:
            raise NotFound(Message.PARTICIPANT_NOT_FOUND, str(participant_id))
        event, organizer = await _organizer_of(session, participant)
        await _tell(federation, session, organizer, participant, "Reject")
        was_going = participant.state == "going"
        await session.delete(participant)
        await session.flush()
        if was_going:
            await _move_up_waiting(federation, session, event, organizer)


def leave_token(secret: str, participant_id: int) -> str:
    """A registrant's own link to withdraw, without an account: a MAC of their registration."""
    digest = hmac.new(secret.encode(), f"leave:{participant_id}".encode(), hashlib.sha256)
    return f"{participant_id}.{digest.hexdigest()[:32]}"


async def leave_with_token(federation: Federation, event_uri: str, token: str, secret: str) -> bool:
    """Withdraw a local registration by its link; False when the link is not valid (any more)."""
    participant_id, _, _mac = token.partition(".")
    if not participant_id.isdigit() or not hmac.compare_digest(
        leave_token(secret, int(participant_id)), token
    ):
        return False
    async with federation.db.transaction() as session:
        participant = await session.get(Participant, int(participant_id))
        found = await _assembly(session, event_uri)
        if participant is None or found is None or participant.event_id != found[0].id:
            return False
        was_going = participant.state == "going"
        await session.delete(participant)
        await session.flush()
        if was_going:
            await _move_up_waiting(federation, session, found[0], found[1])
    return True
