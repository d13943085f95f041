"""What the domain plugs into the inbox: handlers by activity type, and what they are given."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import first_id
from federation.db import utcnow
from federation.models import InboxState, LocalActor, ReceivedActivity, RemoteActor

if TYPE_CHECKING:
    from federation.node import Federation


class LeaseLost(Exception):
    """Another processor holds the activity now (our lease ran out): our writes must not land."""


@dataclass
class InboxContext:
    """A verified activity, taken from the inbox queue, and a way to act on it.

    A handler fetches what it needs first, then opens `transaction()` once to write: the
    handler is recorded as done in that same transaction, so a handler that fails leaves no
    trace and is tried again, and one that succeeded is not run again when a later handler of
    the same activity fails. The activity is marked processed with the last handler's writes.
    """

    federation: Federation
    activity: dict[str, Any]
    actor: RemoteActor
    recipient: LocalActor | None
    done: bool = False
    # Handlers that committed in an earlier attempt; the registry skips them.
    handlers_done: set[str] = field(default_factory=set)
    # The processor's lease on the activity: a transaction commits only while it holds.
    lease_owner: str | None = None
    # Set by the registry while a handler runs.
    handler: str | None = None
    last_handler: bool = True

    @property
    def object(self) -> Any:
        return self.activity.get("object")

    @property
    def object_id(self) -> str | None:
        return first_id(self.activity.get("object"))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.federation.db.transaction() as session:
            yield session
            if not self.done:
                await self._record(session)
        if self.handler is not None:
            self.handlers_done.add(self.handler)
        if self.last_handler:
            self.done = True

    async def _record(self, session: AsyncSession) -> None:
        handlers = sorted(self.handlers_done | ({self.handler} if self.handler else set()))
        values: dict[str, Any] = {"handlers_done": handlers}
        if self.last_handler:
            values.update(
                state=InboxState.DONE, processed_at=utcnow(), lease_until=None, lease_owner=None
            )
        statement = update(ReceivedActivity).where(ReceivedActivity.uri == self.activity["id"])
        if self.lease_owner is not None:
            statement = statement.where(ReceivedActivity.lease_owner == self.lease_owner)
        result = await session.execute(
            statement.values(**values).execution_options(synchronize_session=False)
        )
        if self.lease_owner is not None and result.rowcount == 0:  # type: ignore[attr-defined]
            raise LeaseLost(f"{self.activity['id']} is no longer leased to {self.lease_owner}")


async def mark_done(session: AsyncSession, uri: str) -> None:
    await session.execute(
        update(ReceivedActivity)
        .where(ReceivedActivity.uri == uri)
        .values(state=InboxState.DONE, processed_at=utcnow(), lease_until=None, lease_owner=None)
    )


Handler = Callable[[InboxContext], Awaitable[None]]


def handler_name(handler: Handler) -> str:
    return f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', handler)}"


@dataclass
class HandlerRegistry:
    """The domain says what each activity type means; federation only routes to it.

    Each handler has a name, stable across restarts, under which its completion is recorded on
    the activity (`ReceivedActivity.handlers_done`): by default its module and qualified name.
    A handler may name the object types it acts on (`objects`); an activity whose embedded
    object has another type is not handed to it, and is not even stored when no handler wants
    it (an actor's `Update`, when nothing here keeps actors' profiles).
    """

    handlers: dict[str, list[Handler]] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)
    objects: dict[str, list[frozenset[str] | None]] = field(default_factory=dict)

    def on(
        self,
        activity_type: str,
        *,
        name: str | None = None,
        objects: Collection[str] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            names = self.names.setdefault(activity_type, [])
            chosen = name or handler_name(handler)
            if chosen in names:
                # Two closures of one function: told apart by the order they were added in.
                chosen = f"{chosen}#{len(names)}"
            names.append(chosen)
            self.handlers.setdefault(activity_type, []).append(handler)
            wanted = frozenset(objects) if objects is not None else None
            self.objects.setdefault(activity_type, []).append(wanted)
            return handler

        return register

    def add(
        self,
        activity_type: str,
        handler: Handler,
        *,
        name: str | None = None,
        objects: Collection[str] | None = None,
    ) -> None:
        self.on(activity_type, name=name, objects=objects)(handler)

    def _for(self, activity: dict[str, Any]) -> list[tuple[str, Handler]]:
        activity_type = activity.get("type")
        if not isinstance(activity_type, str):
            return []
        obj = activity.get("object")
        # Only an embedded object with one type can be ruled out; a bare id could be anything.
        object_type = obj.get("type") if isinstance(obj, dict) else None
        return [
            (name, handler)
            for name, handler, wanted in zip(
                self.names.get(activity_type, []),
                self.handlers.get(activity_type, []),
                self.objects.get(activity_type, []),
                strict=True,
            )
            if wanted is None or not isinstance(object_type, str) or object_type in wanted
        ]

    def wants(self, activity: dict[str, Any]) -> bool:
        """Would any handler act on this activity? What none would need not be stored."""
        # The same answer as bool(self._for(activity)), without building the list: this
        # runs for every request to the inbox.
        activity_type = activity.get("type")
        wanted = self.objects.get(activity_type) if isinstance(activity_type, str) else None
        if not wanted:
            return False
        if None in wanted:
            return True
        obj = activity.get("object")
        object_type = obj.get("type") if isinstance(obj, dict) else None
        return not isinstance(object_type, str) or any(object_type in w for w in wanted if w)

    async def dispatch(self, context: InboxContext) -> None:
        handlers = self._for(context.activity)
        done_before = set(context.handlers_done)
        todo = [pair for pair in handlers if pair[0] not in done_before]
        for position, (name, handler) in enumerate(todo):
            context.handler = name
            context.last_handler = position == len(todo) - 1
            await handler(context)
        context.handler = None
        context.last_handler = True
