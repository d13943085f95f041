"""Remote actors: fetched from their origin, checked, cached, refreshed."""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urldefrag, urlsplit

from sqlalchemy import select

from federation.client import FetchError, SignedClient, Signer
from federation.db import Database, utcnow
from federation.models import RemoteActor

ACTOR_TYPES = {"Person", "Group", "Organization", "Application", "Service"}


class ActorError(Exception):
    """A remote document that is not a usable actor."""


# Cached: every inbox POST asks for the hosts of the same few actors and keys several times.
@functools.lru_cache(maxsize=4096)
def host_of(uri: str) -> str:
    """The authority part (host[:port]), lower-cased: what origin checks compare."""
    return urlsplit(uri).netloc.lower()


def same_host(uri: str, host: str) -> bool:
    """host_of(uri) == host, for a lower-cased `host`: an inbox asks it of every new id.

    An id written `http(s)://{host}/...` cannot name another authority whatever follows; any
    other spelling (letter case, userinfo, no path, stray characters) takes the full parse.
    """
    if uri.startswith(("https://", "http://")):
        start = uri.index("//") + 2
        if uri.startswith(host, start) and uri.startswith("/", start + len(host)):
            return True
    return host_of(uri) == host


def first_id(value: Any) -> str | None:
    """AS2 lets a reference be a string, an object with an id, or a one-item list."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        inner = value.get("id")
        return inner if isinstance(inner, str) else None
    if isinstance(value, list) and value:
        return first_id(value[0])
    return None


def parse_actor(document: dict[str, Any], fetched_from: str) -> dict[str, Any]:
    """The fields we keep, after the checks Mastodon also makes before trusting an actor."""
    actor_id = document.get("id")
    actor_type = document.get("type")
    if not isinstance(actor_id, str) or not actor_id:
        raise ActorError("actor has no id")
    if isinstance(actor_type, list):
        actor_type = next((t for t in actor_type if t in ACTOR_TYPES), None)
    if actor_type not in ACTOR_TYPES:
        raise ActorError(f"not an actor type: {actor_type!r}")
    if host_of(actor_id) != host_of(fetched_from):
        raise ActorError("actor id is on another host than the URL it was fetched from")
    inbox = first_id(document.get("inbox"))
    if not inbox or host_of(inbox) != host_of(actor_id):
        raise ActorError("actor has no inbox on its own host")
    endpoints = document.get("endpoints")
    shared_inbox = None
    if isinstance(endpoints, dict):
        candidate = first_id(endpoints.get("sharedInbox"))
        if candidate and host_of(candidate) == host_of(actor_id):
            shared_inbox = candidate
    key_id = key_pem = None
    keys = document.get("publicKey")
    for key in keys if isinstance(keys, list) else [keys]:
        if not isinstance(key, dict):
            continue
        owner = first_id(key.get("owner"))
        pem = key.get("publicKeyPem")
        # A key whose owner is someone else must never verify this actor's requests.
        if owner == actor_id and isinstance(pem, str) and isinstance(key.get("id"), str):
            key_id, key_pem = key["id"], pem
            break
    name = document.get("name")
    username = document.get("preferredUsername")
    url = first_id(document.get("url"))
    return {
        "uri": actor_id,
        "host": host_of(actor_id),
        "actor_type": actor_type,
        "username": username if isinstance(username, str) else None,
        "name": name if isinstance(name, str) else None,
        "inbox": inbox,
        "shared_inbox": shared_inbox,
        "key_id": key_id,
        "public_key_pem": key_pem,
        "url": url,
        "document": document,
    }


class ActorCache:
    """Never holds a database transaction across a fetch: a slow peer must not stall writers."""

    def __init__(
        self,
        db: Database,
        client: SignedClient,
        signer: Callable[[], Signer | None],
        *,
        max_age_seconds: int,
    ) -> None:
        self.db = db
        self.client = client
        self._signer = signer
        self.max_age = timedelta(seconds=max_age_seconds)
        # Every signed request needs its sender's key: keeping recent ones in memory spares the
        # inbox a database round trip per request (it was most of the inbox's time).
        self._by_key: OrderedDict[str, RemoteActor] = OrderedDict()
        self.memory_size = 10_000
        # A sender waits for its key: a slow key server must not hold its request for long.
        self.key_deadline = client.config.key_fetch_timeout

    def _remember(self, actor: RemoteActor) -> RemoteActor:
        if actor.key_id:
            self._by_key[actor.key_id] = actor
            self._by_key.move_to_end(actor.key_id)
            while len(self._by_key) > self.memory_size:
                self._by_key.popitem(last=False)
        return actor

    def forget(self, uri: str) -> None:
        for key_id in [k for k, actor in self._by_key.items() if actor.uri == uri]:
            del self._by_key[key_id]

    @property
    def signer(self) -> Signer | None:
        return self._signer()

    async def cached(self, uri: str) -> RemoteActor | None:
        async with self.db.read() as session:
            return await session.get(RemoteActor, urldefrag(uri).url)

    async def get(self, uri: str, *, refresh: bool = False) -> RemoteActor:
        """The cached actor, fetched when unknown, stale, or when refresh is asked."""
        uri = urldefrag(uri).url
        cached = await self.cached(uri)
        if cached is not None and not refresh and utcnow() - cached.fetched_at < self.max_age:
            return cached
        try:
            document = await self.client.get_json(uri, signer=self.signer)
        except FetchError:
            if cached is not None and not refresh:
                return cached  # a stale copy beats none while the origin is down
            raise
        fields = parse_actor(document, uri)
        if fields["uri"] != uri:
            # Fetched by alias: the canonical document must come from its own id.
            canonical = fields["uri"]
            fields = parse_actor(
                await self.client.get_json(canonical, signer=self.signer), canonical
            )
            if fields["uri"] != canonical:
                raise ActorError("actor document does not name itself")
        return await self._store(fields)

    async def get_by_key_id(self, key_id: str, *, refresh: bool = False) -> RemoteActor:
        """The actor owning a signature's keyId (usually `actor#main-key`).

        Asked while a sender waits for its answer, so the whole lookup (the key's document,
        perhaps its owner's) has `key_deadline`, shorter than a fetch's own.
        """
        deadline = asyncio.timeout(self.key_deadline)
        try:
            async with deadline:
                return await self._by_key_id(key_id, refresh=refresh)
        except TimeoutError as exc:
            if not deadline.expired():
                raise
            raise FetchError(key_id, f"no key within {self.key_deadline:g} s") from exc

    async def _by_key_id(self, key_id: str, *, refresh: bool) -> RemoteActor:
        row = None
        remembered = self._by_key.get(key_id)
        if not refresh and remembered is not None:
            if utcnow() - remembered.fetched_at < self.max_age:
                return remembered
            row = remembered
        if not refresh and row is None:
            async with self.db.read() as session:
                row = (
                    await session.execute(select(RemoteActor).where(RemoteActor.key_id == key_id))
                ).scalar_one_or_none()
            if row is not None and utcnow() - row.fetched_at < self.max_age:
                return self._remember(row)
        document_uri = urldefrag(key_id).url
        try:
            document = await self.client.get_json(document_uri, signer=self.signer)
        except FetchError:
            if not refresh and row is not None:
                return row  # a stale copy beats none while the origin is down
            raise
        if document.get("type") not in ACTOR_TYPES and isinstance(document.get("owner"), str):
            # Some servers serve the key as its own document pointing at its owner.
            owner = document["owner"]
            if host_of(owner) != host_of(key_id):
                raise ActorError("key owner is on another host than the key")
            return await self.get(owner, refresh=True)
        fields = parse_actor(document, document_uri)
        if fields["uri"] != document_uri:
            return await self.get(fields["uri"], refresh=True)
        return await self._store(fields)

    async def _store(self, fields: dict[str, Any]) -> RemoteActor:
        async with self.db.transaction() as session:
            row = await session.get(RemoteActor, fields["uri"])
            if row is None:
                row = RemoteActor(**fields, fetched_at=utcnow())
                session.add(row)
            else:
                for name, value in fields.items():
                    setattr(row, name, value)
                row.fetched_at = utcnow()
        return self._remember(row)
