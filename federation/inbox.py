"""The inbox pipeline: size, parse, origins, signature; then into the inbox queue.

Each step that refuses raises `InboxRejection` with its own reason and HTTP status, before
anything is written. What passes is stored (deduplicated by id) before the sender gets its
answer, and handed to the domain's handlers by the queue's processor (federation.inbox_queue).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from federation import strict_json
from federation.as2 import first_id
from federation.client import FetchError
from federation.models import LocalActor, RemoteActor
from federation.remote_actors import ActorError
from federation.signatures import SignatureError, SignatureFailure, parse_signature, verify_request
from federation.uris import host_of, normalize_uri, same_host

if TYPE_CHECKING:
    from federation.node import Federation

log = logging.getLogger(__name__)


class Rejection(StrEnum):
    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"
    TOO_DEEP = "too_deep"
    TOO_MANY_ITEMS = "too_many_items"
    NOT_AN_ACTIVITY = "not_an_activity"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad_signature"
    BAD_DATE = "bad_date"
    DIGEST_MISMATCH = "digest_mismatch"
    UNKNOWN_KEY = "unknown_key"
    KEY_NOT_ACTORS = "key_not_actors"
    ORIGIN_MISMATCH = "origin_mismatch"
    WRONG_HOST = "wrong_host"
    BLOCKED = "blocked"


STATUS = {
    Rejection.TOO_LARGE: 413,
    Rejection.NOT_JSON: 400,
    Rejection.TOO_DEEP: 422,
    Rejection.TOO_MANY_ITEMS: 422,
    Rejection.NOT_AN_ACTIVITY: 422,
    Rejection.UNSIGNED: 401,
    Rejection.BAD_SIGNATURE: 401,
    Rejection.BAD_DATE: 401,
    Rejection.DIGEST_MISMATCH: 401,
    Rejection.UNKNOWN_KEY: 401,
    Rejection.KEY_NOT_ACTORS: 403,
    Rejection.ORIGIN_MISMATCH: 403,
    # Misdirected Request: meant for another server; Mastodon does not retry a 4xx like it.
    Rejection.WRONG_HOST: 421,
    Rejection.BLOCKED: 403,
}


class InboxRejection(Exception):
    def __init__(self, reason: Rejection, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    @property
    def status(self) -> int:
        return STATUS[self.reason]


@dataclass(frozen=True)
class InboxResult:
    activity_id: str
    duplicate: bool


# Types whose embedded object must come from the actor's own server.
ORIGIN_BOUND = {"Create", "Update", "Delete"}


def parse_activity(body: bytes, max_bytes: int) -> dict[str, Any]:
    if len(body) > max_bytes:
        raise InboxRejection(Rejection.TOO_LARGE, f"body larger than {max_bytes} bytes")
    try:
        activity = strict_json.loads(body)
    except strict_json.JSONRefused as exc:
        raise InboxRejection(Rejection(exc.refusal.value), exc.message) from exc
    if not isinstance(activity, dict):
        raise InboxRejection(Rejection.NOT_JSON, "body is not a JSON object")
    if not isinstance(activity.get("type"), str):
        raise InboxRejection(Rejection.NOT_AN_ACTIVITY, "activity has no type")
    if not _http_id(activity.get("id")):
        raise InboxRejection(Rejection.NOT_AN_ACTIVITY, "activity has no http(s) id")
    object_id = first_id(activity.get("object"))
    if object_id is not None and not _http_id(object_id):
        raise InboxRejection(Rejection.NOT_AN_ACTIVITY, "object id is not an http(s) URL")
    if first_id(activity.get("actor")) is None:
        raise InboxRejection(Rejection.NOT_AN_ACTIVITY, "activity has no actor")
    return activity


def check_host(headers: Mapping[str, str], own_host: str, scheme: str) -> None:
    """The request must be addressed to this node: the signature covers `Host`, and a request
    signed for another server could otherwise be replayed here. `own_host` is as `host_of`
    spells it; so is the Host, so case, a final dot or a default port make no difference."""
    host = headers.get("host")
    if host is None:
        host = next((value for name, value in headers.items() if name.lower() == "host"), "")
    # Only a bare authority: urlsplit would read "ours#x" or "ours/x" as ours.
    if _NOT_AUTHORITY.search(host) or host_of(f"{scheme}://{host}/") != own_host:
        raise InboxRejection(
            Rejection.WRONG_HOST, f"request is addressed to {host[:100]!r}, not to {own_host}"
        )


_NOT_AUTHORITY = re.compile(r"[/?#@\\\s]|^$")


def _http_id(value: Any) -> bool:
    # "javascript://host/..." has a host that passes origin checks, and ends up in a link.
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        return False
    try:
        return bool(urlsplit(value).hostname)
    except ValueError:
        return False


def check_origins(activity: dict[str, Any], actor_uri: str) -> None:
    """An actor speaks only for its own server; what it embeds from elsewhere is refused."""
    actor_host = host_of(actor_uri)
    if not same_host(activity["id"], actor_host):
        raise InboxRejection(
            Rejection.ORIGIN_MISMATCH, "activity id is on another host than its actor"
        )
    obj = activity.get("object")
    if activity["type"] in ORIGIN_BOUND and isinstance(obj, dict):
        object_id = obj.get("id")
        if isinstance(object_id, str) and not same_host(object_id, actor_host):
            raise InboxRejection(
                Rejection.ORIGIN_MISMATCH, "object id is on another host than the activity's actor"
            )
        attributed = first_id(obj.get("attributedTo"))
        if attributed is not None and host_of(attributed) != actor_host:
            raise InboxRejection(
                Rejection.ORIGIN_MISMATCH, "object is attributed to an actor of another host"
            )
    if activity["type"] == "Delete" and isinstance(obj, str) and host_of(obj) != actor_host:
        raise InboxRejection(Rejection.ORIGIN_MISMATCH, "cannot delete another host's object")


async def verify_sender(
    federation: Federation,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    actor_uri: str,
) -> RemoteActor:
    try:
        params = parse_signature(headers)
    except SignatureError as exc:
        raise InboxRejection(_rejection_for(exc.reason), str(exc)) from exc
    if host_of(params.key_id) != host_of(actor_uri):
        raise InboxRejection(Rejection.KEY_NOT_ACTORS, "signing key is not the actor's")
    actor = await _key_owner(federation, params.key_id, refresh=False)
    if actor.uri != actor_uri:
        raise InboxRejection(Rejection.KEY_NOT_ACTORS, "signing key belongs to another actor")
    try:
        verify_request(method, path, headers, body, actor.public_key_pem or "", params=params)
    except SignatureError as exc:
        if exc.reason not in (SignatureFailure.BAD_SIGNATURE, SignatureFailure.KEY_INVALID):
            raise InboxRejection(_rejection_for(exc.reason), str(exc)) from exc
        # The actor may have rotated its key since we cached it: look once more, then decide.
        actor = await _key_owner(federation, params.key_id, refresh=True)
        if actor.uri != actor_uri:
            raise InboxRejection(
                Rejection.KEY_NOT_ACTORS, "signing key belongs to another actor"
            ) from exc
        try:
            verify_request(method, path, headers, body, actor.public_key_pem or "", params=params)
        except SignatureError as again:
            raise InboxRejection(Rejection.BAD_SIGNATURE, str(again)) from again
    return actor


_DATE_FAILURES = {
    SignatureFailure.DATE_MISSING,
    SignatureFailure.DATE_INVALID,
    SignatureFailure.DATE_STALE,
    SignatureFailure.DATE_IN_FUTURE,
}
_DIGEST_FAILURES = {
    SignatureFailure.DIGEST_MISSING,
    SignatureFailure.DIGEST_MISMATCH,
    SignatureFailure.DIGEST_UNSUPPORTED,
}


def _rejection_for(failure: SignatureFailure) -> Rejection:
    if failure is SignatureFailure.MISSING_SIGNATURE:
        return Rejection.UNSIGNED
    if failure in _DATE_FAILURES:
        return Rejection.BAD_DATE
    if failure in _DIGEST_FAILURES:
        return Rejection.DIGEST_MISMATCH
    return Rejection.BAD_SIGNATURE


async def _key_owner(federation: Federation, key_id: str, *, refresh: bool) -> RemoteActor:
    try:
        actor = await federation.actors.get_by_key_id(key_id, refresh=refresh)
    except (FetchError, ActorError) as exc:
        raise InboxRejection(Rejection.UNKNOWN_KEY, f"cannot fetch signing key: {exc}") from exc
    if actor.key_id != normalize_uri(key_id) or not actor.public_key_pem:
        raise InboxRejection(Rejection.KEY_NOT_ACTORS, "key id is not the actor's published key")
    return actor


async def _actor_gone(
    federation: Federation, activity: dict[str, Any], actor_uri: str, rejection: InboxRejection
) -> bool:
    """A deleted account announces its own Delete after its key is gone (Mastodon does).

    The signature cannot be checked any more, so the Delete itself proves nothing; but when the
    actor's own server answers 410 Gone for it, that server has told us over its own origin,
    and we forget the actor: no more deliveries to a dead inbox, no sender retrying for days.
    """
    if rejection.reason is not Rejection.UNKNOWN_KEY:
        return False
    target = first_id(activity.get("object"))
    if activity["type"] != "Delete" or target is None or normalize_uri(target) != actor_uri:
        return False
    if not await federation.actors.origin_says_gone(actor_uri):
        return False
    await federation.forget_actor(actor_uri)
    log.info("forgot %s: its server says it is gone", actor_uri)
    return True


async def receive(
    federation: Federation,
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    recipient: LocalActor | None,
) -> InboxResult:
    check_host(headers, federation.own_host, federation.config.scheme)
    activity = parse_activity(body, federation.config.max_inbox_bytes)
    actor_id = first_id(activity["actor"])
    assert actor_id is not None  # parse_activity checked it
    # Stored actors are in their one spelling (federation.uris); so is the one we compare.
    actor_uri = normalize_uri(actor_id)
    if federation.blocks.actor_blocked(actor_uri):  # before any key is fetched from it
        raise InboxRejection(Rejection.BLOCKED, f"{actor_uri} is blocked on this node")
    check_origins(activity, actor_uri)
    try:
        actor = await verify_sender(federation, method, path, headers, body, actor_uri)
    except InboxRejection as rejection:
        if await _actor_gone(federation, activity, actor_uri, rejection):
            return InboxResult(activity["id"], duplicate=False)
        raise
    if not federation.registry.wants(activity):
        # Nothing here acts on it (a Like, an actor's Update): the sender has its 202, as
        # Mastodon answers, and the inbox table is spared a row nobody will read.
        log.debug("inbox ignored %s %s from %s", activity["type"], activity["id"], actor.uri)
        return InboxResult(activity["id"], duplicate=False)
    recipient_id = recipient.id if recipient else None
    is_new = await federation.inbox_writer.submit(activity, actor.uri, recipient_id, raw=body)
    if is_new:
        log.debug("inbox accepted %s %s from %s", activity["type"], activity["id"], actor.uri)
    return InboxResult(activity["id"], duplicate=not is_new)
