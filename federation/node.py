"""The protocol layer of one node, assembled: config, database, HTTP client, caches, handlers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import first_id, public_activity
from federation.blocks import BlockList
from federation.client import SignedClient, Signer
from federation.config import FederationConfig
from federation.db import Database
from federation.delivery import LANE_NORMAL, enqueue
from federation.handlers import HandlerRegistry
from federation.inbox_queue import InboxWriter
from federation.keys import generate_private_key_pem, public_key_pem
from federation.models import Follower, Following, LocalActor, OutboxActivity, RemoteActor
from federation.remote_actors import ActorCache
from federation.uris import host_of, normalize_uri
from federation.wakeups import Wakeups

INSTANCE_USERNAME = "actor"


class Federation:
    def __init__(
        self, config: FederationConfig, db: Database, registry: HandlerRegistry | None = None
    ) -> None:
        self.config = config
        self.db = db
        self.registry = registry or HandlerRegistry()
        self.client = SignedClient(config)
        self.blocks = BlockList(db)
        self.blocks_wake = asyncio.Event()
        self.client.guard = self.blocks.check_url
        self._instance_signer: Signer | None = None
        self.actors = ActorCache(
            db, self.client, self._signer_for_fetch, max_age_seconds=config.actor_cache_seconds
        )
        self.delivery_wake = asyncio.Event()
        self.inbox_wake = asyncio.Event()
        self._other_wakes: dict[str, asyncio.Event] = {}
        self.wakeups = Wakeups(db.url, self._woken)
        self.inbox_writer = InboxWriter(db, self._inbox_written)
        # Queries find the block list, to leave out what came from blocked servers.
        db.carry_in_sessions(blocks=self.blocks)

    def _woken(self, kind: str) -> None:
        wakes = {"delivery": self.delivery_wake, "blocks": self.blocks_wake, **self._other_wakes}
        wakes.get(kind, self.inbox_wake).set()

    def wake_event(self, kind: str) -> asyncio.Event:
        """The event set when `kind` work is announced by this process or another: for queues
        that layers above keep on the same wake-ups (the outgoing mail)."""
        event = self._other_wakes.get(kind)
        if event is None:
            event = self._other_wakes[kind] = asyncio.Event()
            self.wakeups.kinds.add(kind)
        return event

    def _delivery_enqueued(self) -> None:
        self.delivery_wake.set()
        self.wakeups.after_commit("delivery")

    def _inbox_written(self) -> None:
        self.inbox_wake.set()
        self.wakeups.after_commit("inbox")

    def _signer_for_fetch(self) -> Signer | None:
        return self._instance_signer

    @property
    def own_host(self) -> str:
        return host_of(self.config.base_url)

    def new_id(self, kind: str = "activities") -> str:
        return f"{self.config.base_url}/{kind}/{uuid.uuid4()}"

    def local_actor_uris(self, path: str) -> dict[str, str]:
        uri = f"{self.config.base_url}{path}"
        return {
            "uri": uri,
            "inbox_uri": f"{uri}/inbox",
            "outbox_uri": f"{uri}/outbox",
            "followers_uri": f"{uri}/followers",
            "following_uri": f"{uri}/following",
        }

    @property
    def shared_inbox_uri(self) -> str:
        return f"{self.config.base_url}/inbox"

    async def create_local_actor(
        self, session: AsyncSession, *, username: str, actor_type: str, path: str
    ) -> LocalActor:
        private_pem = generate_private_key_pem()
        actor = LocalActor(
            username=username,
            actor_type=actor_type,
            private_key_pem=private_pem,
            public_key_pem=public_key_pem(private_pem),
            **self.local_actor_uris(path),
        )
        session.add(actor)
        await session.flush()
        return actor

    async def ensure_instance_actor(self) -> LocalActor:
        """The node's own Application actor (FEP-2677); it signs our fetches."""
        async with self.db.transaction() as session:
            actor = await self.local_actor_by_username(session, INSTANCE_USERNAME)
            if actor is None:
                actor = await self.create_local_actor(
                    session, username=INSTANCE_USERNAME, actor_type="Application", path="/actor"
                )
        self._instance_signer = Signer(actor.key_id, actor.private_key_pem)
        return actor

    async def local_actor_by_username(
        self, session: AsyncSession, username: str
    ) -> LocalActor | None:
        return (
            await session.execute(select(LocalActor).where(LocalActor.username == username))
        ).scalar_one_or_none()

    async def local_actor_by_uri(self, session: AsyncSession, uri: str) -> LocalActor | None:
        return (
            # Ours were stored as our base URL spells them; what others send, in any spelling.
            await session.execute(
                select(LocalActor).where(LocalActor.uri.in_({uri, normalize_uri(uri)}))
            )
        ).scalar_one_or_none()

    async def enqueue(
        self,
        session: AsyncSession,
        activity: dict[str, Any],
        *,
        actor: LocalActor,
        inboxes: Iterable[str] = (),
        followers_of: Iterable[LocalActor] = (),
        except_followers_of: Iterable[LocalActor] = (),
        priority: int = LANE_NORMAL,
    ) -> OutboxActivity:
        """Deliver the activity to this audience (federation.delivery_fanout.enqueue), in the
        caller's transaction; this node's workers, and those of its other processes, hear of
        it when that transaction commits."""
        return await enqueue(
            session,
            activity,
            actor=actor,
            own_host=self.own_host,
            wake=self._delivery_enqueued,
            inboxes=inboxes,
            followers_of=followers_of,
            except_followers_of=except_followers_of,
            priority=priority,
        )

    async def publish(
        self,
        session: AsyncSession,
        activity: dict[str, Any],
        *,
        actor: LocalActor,
        priority: int = LANE_NORMAL,
    ) -> OutboxActivity:
        """Send a public activity to the actor's followers, and relay it to the node's.

        Following a node's instance actor means following everything its actors publish, as
        Mobilizon's instance follow works: the instance actor `Announce`s the object to its own
        followers (those that do not follow the actor already), and they fetch it from here.
        """
        outbox = await self.enqueue(
            session, activity, actor=actor, followers_of=[actor], priority=priority
        )
        object_id = first_id(activity.get("object"))
        if actor.username != INSTANCE_USERNAME and object_id and outbox.public:
            instance = await self.local_actor_by_username(session, INSTANCE_USERNAME)
            if instance is not None:
                await self.enqueue(
                    session,
                    public_activity("Announce", self.new_id(), instance, object_id),
                    actor=instance,
                    followers_of=[instance],
                    except_followers_of=[actor],
                    priority=priority,
                )
        return outbox

    async def retract_from_outbox(self, session: AsyncSession, object_uri: str) -> None:
        """Take the activities about a deleted object out of the public outbox."""
        await session.execute(
            update(OutboxActivity)
            .where(
                OutboxActivity.object_uri == object_uri,
                OutboxActivity.activity_type.in_(("Create", "Update", "Announce")),
            )
            .values(public=False)
        )

    async def forget_actor(self, uri: str) -> None:
        """Drop a remote actor from our graph and cache (deleted account, gone server)."""
        uri = normalize_uri(uri)
        async with self.db.transaction() as session:
            await session.execute(delete(Follower).where(Follower.actor_uri == uri))
            await session.execute(delete(Following).where(Following.target_uri == uri))
            await session.execute(delete(RemoteActor).where(RemoteActor.uri == uri))
        self.actors.forget(uri)

    async def aclose(self) -> None:
        await self.actors.aclose()
        await self.inbox_writer.aclose()
        self.wakeups.close()
        await self.client.aclose()
