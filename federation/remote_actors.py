"""Remote actors: fetched from their origin, checked, cached, refreshed."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urldefrag

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from federation.as2 import first_id
from federation.client import FetchError, SignedClient, Signer
from federation.db import Database, utcnow
from federation.fetch_sharing import Failure, HostSlots, Recent, SingleFlight
from federation.models import RemoteActor
from federation.uris import host_of, normalize_uri

ACTOR_TYPES = {"Person", "Group", "Organization", "Application", "Service"}
# A key that could not be had is not asked for again for this long: senders retry, and
# requests with made-up keyIds must not each cost a fetch. Delivery retries come minutes apart.
FAILURE_MEMORY_SECONDS = 120
# A cached key that fails to verify a signature is fetched again (the actor may have rotated
# it), but not more often than this: anyone can send a bad signature.
REFRESH_INTERVAL_SECONDS = 60
# Key fetches to one host at a time; the others wait (within the sender's key deadline).
KEY_FETCHES_PER_HOST = 4


class ActorError(Exception):
    """A remote document that is not a usable actor."""


def parse_actor(document: dict[str, Any], fetched_from: str) -> dict[str, Any]:
    """The fields we keep, after the checks Mastodon also makes before trusting an actor."""
    actor_id = document.get("id")
    actor_type = document.get("type")
    if not isinstance(actor_id, str) or not actor_id:
        raise ActorError("actor has no id")
    actor_id = normalize_uri(actor_id)
    if isinstance(actor_type, list):
        actor_type = next((t for t in actor_type if t in ACTOR_TYPES), None)
    if actor_type not in ACTOR_TYPES:
        raise ActorError(f"not an actor type: {actor_type!r}")
    if host_of(actor_id) != host_of(fetched_from):
        raise ActorError("actor id is on another host than the URL it was fetched from")
    inbox = first_id(document.get("inbox"))
    inbox = normalize_uri(inbox) if inbox else None
    if not inbox or host_of(inbox) != host_of(actor_id):
        raise ActorError("actor has no inbox on its own host")
    endpoints = document.get("endpoints")
    shared_inbox = None
    if isinstance(endpoints, dict):
        candidate = first_id(endpoints.get("sharedInbox"))
        if candidate and host_of(candidate) == host_of(actor_id):
            shared_inbox = normalize_uri(candidate)
    key_id = key_pem = None
    keys = document.get("publicKey")
    for key in keys if isinstance(keys, list) else [keys]:
        if not isinstance(key, dict):
            continue
        owner = first_id(key.get("owner"))
        pem = key.get("publicKeyPem")
        # A key whose owner is someone else must never verify this actor's requests.
        if (
            owner is not None
            and normalize_uri(owner) == actor_id
            and isinstance(pem, str)
            and isinstance(key.get("id"), str)
        ):
            key_id, key_pem = normalize_uri(key["id"]), pem
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
    """Remote actors by id and by key id: in memory, in the database, else fetched.

    Never holds a database transaction across a fetch: a slow peer must not stall writers.
    Concurrent requests for one actor or key share one fetch; key fetches, which anyone can
    cause by POSTing a signature, are also bounded per host and their failures remembered for
    a while (federation.fetch_sharing).
    """

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
        self._flights: SingleFlight[Any] = SingleFlight()
        self._failures: Recent[Failure] = Recent(FAILURE_MEMORY_SECONDS)
        # Keys refreshed because a signature failed: a forger must not make us fetch each time.
        self._refreshed: Recent[bool] = Recent(REFRESH_INTERVAL_SECONDS)
        self._hosts = HostSlots(KEY_FETCHES_PER_HOST)

    def _remember(self, actor: RemoteActor) -> RemoteActor:
        if actor.key_id:
            self._by_key[actor.key_id] = actor
            self._by_key.move_to_end(actor.key_id)
            while len(self._by_key) > self.memory_size:
                self._by_key.popitem(last=False)
        return actor

    def forget(self, uri: str) -> None:
        uri = normalize_uri(uri)
        for key_id in [k for k, actor in self._by_key.items() if actor.uri == uri]:
            del self._by_key[key_id]

    async def aclose(self) -> None:
        await self._flights.aclose()

    @property
    def signer(self) -> Signer | None:
        return self._signer()

    def _fresh(self, actor: RemoteActor) -> bool:
        return utcnow() - actor.fetched_at < self.max_age

    async def cached(self, uri: str) -> RemoteActor | None:
        async with self.db.read() as session:
            return await session.get(RemoteActor, normalize_uri(urldefrag(uri).url))

    async def get(self, uri: str, *, refresh: bool = False) -> RemoteActor:
        """The cached actor, fetched when unknown, stale, or when refresh is asked."""
        uri = normalize_uri(urldefrag(uri).url)
        cached = await self.cached(uri)
        if cached is not None and not refresh and self._fresh(cached):
            return cached
        task = self._flights.run(
            ("actor", uri, refresh), lambda: self._fetch_actor(uri, refresh, cached)
        )
        return await asyncio.shield(task)

    async def _fetch_actor(
        self, uri: str, refresh: bool, cached: RemoteActor | None
    ) -> RemoteActor:
        if not refresh:
            # A fetch that ended between our look and this one's start may have stored it.
            latest = await self.cached(uri)
            if latest is not None and self._fresh(latest):
                return latest
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

        Asked while a sender waits for its answer: the sender waits at most `key_deadline`,
        shorter than a fetch's own; the fetch goes on without it, for the sender's retry.
        A key that failed moments ago is not asked for again until FAILURE_MEMORY_SECONDS
        have passed; one refreshed moments ago (`refresh`) is not refreshed again.
        """
        key_id = normalize_uri(key_id)
        known = await self._known_key(key_id)
        if known is not None and not refresh and self._fresh(known):
            return self._remember(known)
        settled = self._without_fetch(key_id, refresh, known)
        if settled is not None:
            return settled
        task = self._flights.run(("key", key_id, refresh), lambda: self._fetch_key(key_id, refresh))
        deadline = asyncio.timeout(self.key_deadline)
        try:
            async with deadline:
                return await asyncio.shield(task)
        except TimeoutError as exc:
            if not deadline.expired():
                raise
            raise FetchError(key_id, f"no key within {self.key_deadline:g} s") from exc

    async def _known_key(self, key_id: str) -> RemoteActor | None:
        remembered = self._by_key.get(key_id)
        if remembered is not None:
            return remembered
        async with self.db.read() as session:
            return (
                await session.execute(select(RemoteActor).where(RemoteActor.key_id == key_id))
            ).scalar_one_or_none()

    def _without_fetch(
        self, key_id: str, refresh: bool, known: RemoteActor | None
    ) -> RemoteActor | None:
        """What we can answer for a key without fetching it, if anything (or the remembered
        failure, raised)."""
        if refresh and known is not None and self._refreshed.recall(key_id):
            return known
        failure = self._failures.recall(urldefrag(key_id).url)
        if failure is None:
            return None
        if known is not None and not refresh:
            return known  # a stale copy beats none while the origin is down
        raise FetchError(urldefrag(key_id).url, f"{failure.message} (a moment ago)", failure.status)

    async def _fetch_key(self, key_id: str, refresh: bool) -> RemoteActor:
        # Looked at again: a fetch that ended after the caller looked may have done the work.
        known = await self._known_key(key_id)
        if known is not None and not refresh and self._fresh(known):
            return self._remember(known)
        settled = self._without_fetch(key_id, refresh, known)
        if settled is not None:
            return settled
        stale = None if refresh else known
        document_uri = urldefrag(key_id).url
        if refresh:
            self._refreshed.remember(key_id, True)
        try:
            # Waiting for a slot counts: the whole of it is one fetch's time.
            async with asyncio.timeout(self.client.config.fetch_timeout):
                async with self._hosts.slot(host_of(key_id)):
                    return await self._fetch_key_document(key_id, document_uri)
        except (FetchError, ActorError, TimeoutError) as exc:
            status = exc.status if isinstance(exc, FetchError) else None
            message = exc.reason if isinstance(exc, FetchError) else str(exc)
            message = message or f"no answer within {self.client.config.fetch_timeout:g} s"
            self._failures.remember(document_uri, Failure(message, status))
            if stale is not None and not isinstance(exc, ActorError):
                return stale  # a stale copy beats none while the origin is down
            if isinstance(exc, TimeoutError):
                raise FetchError(document_uri, message) from exc
            raise

    async def _fetch_key_document(self, key_id: str, document_uri: str) -> RemoteActor:
        document = await self.client.get_json(document_uri, signer=self.signer)
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

    async def origin_says_gone(self, uri: str) -> bool:
        """Whether the actor's own server answers 410 Gone for it.

        Asked after its key could not be had, so usually answered by the failure just
        remembered for the same document, without asking again.
        """
        uri = normalize_uri(urldefrag(uri).url)
        failure = self._failures.recall(uri)
        if failure is None:
            task = self._flights.run(("gone", uri), lambda: self._probe(uri))
            try:
                async with asyncio.timeout(self.key_deadline):
                    failure = await asyncio.shield(task)
            except TimeoutError:
                return False
        return failure is not None and failure.status == 410

    async def _probe(self, uri: str) -> Failure | None:
        try:
            await self.client.get_json(uri, signer=self.signer)
        except FetchError as exc:
            failure = Failure(exc.reason, exc.status)
            self._failures.remember(uri, failure)
            return failure
        return None

    async def _store(self, fields: dict[str, Any]) -> RemoteActor:
        """Insert or update in one statement: concurrent first contacts from one actor (in
        several processes) must not collide on its primary key."""
        values = {**fields, "fetched_at": utcnow()}
        dialect = sqlite if self.db.is_sqlite else postgresql
        insert = dialect.insert(RemoteActor).values(**values)
        insert = insert.on_conflict_do_update(
            index_elements=["uri"],
            set_={name: insert.excluded[name] for name in values if name != "uri"},
        )
        async with self.db.transaction() as session:
            await session.execute(insert)
            row = await session.get(RemoteActor, fields["uri"], populate_existing=True)
        assert row is not None
        return self._remember(row)
