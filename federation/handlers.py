"""What the domain plugs into the inbox: handlers by activity type, and what they are given."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.db import utcnow
from federation.models import LocalActor, ReceivedActivity, RemoteActor
from federation.remote_actors import first_id

if TYPE_CHECKING:
    from federation.node import Federation


@dataclass
class InboxContext:
    """A verified activity, taken from the inbox queue, and a way to act on it.

    A handler fetches what it needs first, then opens `transaction()` to write; the activity is
    marked processed in that same transaction, so a handler that fails leaves no trace and the
    activity is tried again.
    """

    federation: Federation
    activity: dict[str, Any]
    actor: RemoteActor
    recipient: LocalActor | None
    done: bool = False

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
                await mark_done(session, self.activity["id"])
        self.done = True


async def mark_done(session: AsyncSession, uri: str) -> None:
    await session.execute(
        update(ReceivedActivity)
        .where(ReceivedActivity.uri == uri)
        .values(state="done", processed_at=utcnow(), lease_until=None, lease_owner=None)
    )


Handler = Callable[[InboxContext], Awaitable[None]]


@dataclass
class HandlerRegistry:
    """The domain says what each activity type means; federation only routes to it."""

    handlers: dict[str, list[Handler]] = field(default_factory=dict)

    def on(self, activity_type: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.handlers.setdefault(activity_type, []).append(handler)
            return handler

        return register

    def add(self, activity_type: str, handler: Handler) -> None:
        self.on(activity_type)(handler)

    async def dispatch(self, context: InboxContext) -> bool:
        activity_type = context.activity.get("type")
        handlers = self.handlers.get(activity_type, []) if isinstance(activity_type, str) else []
        for handler in handlers:
            await handler(context)
        return bool(handlers)
