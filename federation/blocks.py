"""Blocks: servers (with their subdomains) and actors this node neither hears nor speaks to.

The inbox refuses their activities (403) before it fetches a key, the signed client refuses to
fetch from them or deliver to them (so no code path can), and a block removes the followers
there and the deliveries waiting for them. What was stored from them stays in the database: the
domain hides it (see `actors.visibility`), so an unblock brings it back.

The inbox asks on every POST, so the list lives in memory (`BlockList`), loaded at start and
reloaded when its version row changes: at once in the process that made the change, on a
wake-up in the others (`federation.wakeups`, kind "blocks"), and by a cheap version check
every few seconds in case a wake-up was lost.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation import webfinger
from federation.client import FetchError
from federation.db import Database, rowcount
from federation.models import (
    Block,
    BlockListVersion,
    Delivery,
    DeliveryState,
    Follower,
    RemoteActor,
)
from federation.netguard import ForbiddenAddress
from federation.uris import host_of
from federation.wakeups import notify_with_commit

if TYPE_CHECKING:
    from federation.node import Federation

log = logging.getLogger(__name__)

SERVER = "server"
ACTOR = "actor"
WAKE_KIND = "blocks"
# host or host:port, lower case, as `host_of` gives it.
HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$")
_MAX_VERDICTS = 10_000


class BlockError(ValueError):
    """What was typed is not a server, a handle or an actor URL, or is not blocked."""


class Blocked(ForbiddenAddress):
    """A URL on a blocked server: never fetched, never delivered to (and never retried)."""

    def __init__(self, host: str) -> None:
        self.host = self.address = host
        OSError.__init__(self, errno.EACCES, f"{host} is blocked on this node")


@dataclass(frozen=True)
class Target:
    kind: str  # server | actor
    value: str  # host[:port] | actor id


def _names(host: str) -> list[str]:
    """`host` itself, without its port, and each parent domain: what a server block may name."""
    names = [host]
    if host.startswith("["):  # an IPv6 literal, with or without a port
        name = host[: host.find("]") + 1]
    else:
        name = host.split(":", 1)[0]
    if name != host:
        names.append(name)
    try:
        ipaddress.ip_address(name.strip("[]"))
        return names  # an address has no parent domains
    except ValueError:
        pass
    labels = name.split(".")
    names += [".".join(labels[i:]) for i in range(1, len(labels) - 1)]
    return names


class BlockList:
    """The blocks in force, in memory: asked on every inbox POST and outbound request."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.version: int | None = None
        self._servers: frozenset[str] = frozenset()
        self._actors: frozenset[str] = frozenset()
        self._verdicts: dict[str, bool] = {}

    @property
    def servers(self) -> frozenset[str]:
        return self._servers

    @property
    def actors(self) -> frozenset[str]:
        return self._actors

    def server_blocked(self, host: str) -> bool:
        """Is this host (as `host_of` gives it), or a domain it belongs to, blocked?"""
        if not self._servers:
            return False
        verdict = self._verdicts.get(host)
        if verdict is None:
            verdict = any(name in self._servers for name in _names(host.lower()))
            if len(self._verdicts) >= _MAX_VERDICTS:
                self._verdicts.clear()
            self._verdicts[host] = verdict
        return verdict

    def actor_blocked(self, uri: str) -> bool:
        """Is this actor blocked, itself or through its server?"""
        if not self._servers and not self._actors:
            return False
        return uri in self._actors or self.server_blocked(host_of(uri))

    def check_url(self, url: str) -> None:
        """Raise `Blocked` for a URL on a blocked server: the client's guard."""
        if self._servers and self.server_blocked(host_of(url)):
            raise Blocked(host_of(url))

    def load(self, version: int, blocks: list[tuple[str, str]]) -> None:
        self._servers = frozenset(t for kind, t in blocks if kind == SERVER)
        self._actors = frozenset(t for kind, t in blocks if kind == ACTOR)
        self._verdicts = {}
        self.version = version

    async def refresh(self) -> bool:
        """Reload if the version changed; True when it did."""
        async with self.db.read() as session:
            version = (await session.execute(select(BlockListVersion.version))).scalar() or 0
            if version == self.version:
                return False
            rows = (await session.execute(select(Block.kind, Block.target))).all()
        self.load(version, [(kind, target) for kind, target in rows])
        return True

    async def watch(self, stop: asyncio.Event, wake: asyncio.Event, every: float) -> None:
        """Keep the list current until `stop`: on each wake-up, and every `every` seconds."""
        while not stop.is_set():
            wake.clear()
            try:
                await self.refresh()
            except Exception:
                log.exception("could not reload the block list; trying again")
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
            try:
                await asyncio.wait(waiters, timeout=every, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()


# --- what a person types ------------------------------------------------------------------


def parse_server(text: str) -> str:
    """A server as typed (`example.org`, `https://example.org/`, `@name@example.org`'s server
    is not meant here); raises BlockError."""
    value = text.strip().lower().rstrip("/")
    if "://" in value:
        value = host_of(value)
    value = value.rstrip(".")
    if not HOST.match(value) or len(value) > 255:
        raise BlockError(f"{text.strip()!r} is not a server name like example.org")
    return value


async def resolve(federation: Federation, text: str) -> Target:
    """What a person typed, checked: never this node itself."""
    target = await _resolve(federation, text)
    own = federation.own_host
    if target.kind == SERVER and target.value in _names(own):
        raise BlockError(f"{target.value} is this node's own server")
    if target.kind == ACTOR and host_of(target.value) == own:
        raise BlockError(f"{target.value} is an actor of this node")
    return target


async def _resolve(federation: Federation, text: str) -> Target:
    """What a person typed: a server (`example.org`), an account (`@name@host`, looked up with
    WebFinger) or an actor URL. Raises BlockError."""
    value = text.strip()
    if not value:
        raise BlockError("give a server, an @name@host account or an actor URL")
    if value.startswith(("http://", "https://")):
        parts = value.split("/", 3)
        if len(parts) < 4 or not parts[3]:
            return Target(SERVER, parse_server(value))
        if not HOST.match(host_of(value)):
            raise BlockError(f"{value!r} is not an actor URL")
        return Target(ACTOR, value)
    if "@" in value.lstrip("@"):
        try:
            return Target(ACTOR, await webfinger.lookup(federation.client, value))
        except (FetchError, ValueError) as exc:
            raise BlockError(f"could not find the account {value!r}: {exc}") from exc
    return Target(SERVER, parse_server(value))


# --- changing the list --------------------------------------------------------------------


async def _bump(session: AsyncSession) -> None:
    row = (await session.execute(select(BlockListVersion))).scalar_one_or_none()
    if row is None:
        session.add(BlockListVersion(id=1, version=1))
    else:
        row.version += 1
    await notify_with_commit(session, WAKE_KIND)


async def _sever(session: AsyncSession, matches: BlockList) -> dict[str, int]:
    """Followers on what `matches` blocks, and deliveries waiting for it: gone.

    Our own follows of it stay: inert while the inbox refuses what it sends, they let an
    unblock bring its content back as before.
    """
    followers = [
        row.id
        for row in (await session.execute(select(Follower.id, Follower.actor_uri))).all()
        if matches.actor_blocked(row.actor_uri)
    ]
    inboxes = set()
    for actor in matches.actors:
        inbox = (
            await session.execute(select(RemoteActor.inbox).where(RemoteActor.uri == actor))
        ).scalar_one_or_none()
        if inbox:
            inboxes.add(inbox)
    pending_hosts = (
        await session.execute(
            select(Delivery.host).where(Delivery.state == DeliveryState.PENDING).distinct()
        )
    ).scalars()
    hosts = [host for host in pending_hosts if matches.server_blocked(host)]
    dropped = 0
    if followers:
        await session.execute(delete(Follower).where(Follower.id.in_(followers)))
    for column, values in ((Delivery.host, hosts), (Delivery.inbox, sorted(inboxes))):
        if values:
            result = await session.execute(
                update(Delivery)
                .where(Delivery.state == DeliveryState.PENDING, column.in_(values))
                .values(
                    state=DeliveryState.DEAD, last_error="blocked on this node", lease_until=None
                )
                .execution_options(synchronize_session=False)
            )
            dropped += rowcount(result)
    return {"followers": len(followers), "deliveries": dropped}


async def add(federation: Federation, target: Target, reason: str = "") -> dict[str, int]:
    """Block; returns what went with it (followers removed, deliveries dropped)."""
    reason = " ".join(reason.split())[:1000]
    async with federation.db.transaction() as session:
        row = (
            await session.execute(select(Block).where(Block.target == target.value))
        ).scalar_one_or_none()
        if row is None:
            session.add(Block(kind=target.kind, target=target.value, reason=reason))
        elif reason:
            row.reason = reason
        rows = (await session.execute(select(Block.kind, Block.target))).all()
        matches = BlockList(federation.db)
        matches.load(0, [(kind, value) for kind, value in rows] + [(target.kind, target.value)])
        severed = await _sever(session, matches)
        await _bump(session)
    await _changed(federation)
    return severed


async def remove(federation: Federation, target: Target) -> None:
    async with federation.db.transaction() as session:
        result = await session.execute(delete(Block).where(Block.target == target.value))
        if not rowcount(result):
            raise BlockError(f"{target.value} is not blocked")
        await _bump(session)
    await _changed(federation)


async def every(session: AsyncSession) -> list[Block]:
    return list((await session.execute(select(Block).order_by(Block.target))).scalars())


async def _changed(federation: Federation) -> None:
    """The change is committed: this process knows it at once, the others on a wake-up."""
    federation.wakeups.after_commit(WAKE_KIND)
    try:
        await federation.blocks.refresh()
    except Exception:
        # Committed all the same; the watcher's next version check loads it.
        log.exception("block list changed but could not be reloaded here")
