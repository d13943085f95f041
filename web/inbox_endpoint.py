"""The inboxes' HTTP side: POSTs from other servers, answered below Starlette's routing.

An inbox is the one route other servers may hit thousands of times a second (an upsurge
brings a flood of deliveries at once), and Starlette's request and response objects,
exception wrappers and route matching were a fifth of its time. This middleware takes the
inbox paths (`/inbox`, `/actor/inbox`, `/actors/{name}/inbox`) straight from the ASGI scope
and hands the body to `federation.inbox.receive`; every other path goes on to the app.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from federation.inbox import InboxRejection, receive
from federation.models import LocalActor
from federation.node import INSTANCE_USERNAME

if TYPE_CHECKING:
    from web.runtime import Node

log = logging.getLogger(__name__)

_ORGANIZATION_INBOX = re.compile(r"/actors/([^/]+)/inbox")
_JSON_HEADERS = [(b"content-type", b"application/json")]


class InboxEndpoint:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive_message: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/inbox"):
            await self.app(scope, receive_message, send)
            return
        path = _route_path(scope)
        organization = _ORGANIZATION_INBOX.fullmatch(path)
        if path not in ("/inbox", "/actor/inbox") and organization is None:
            await self.app(scope, receive_message, send)
            return
        if scope["method"] != "POST":
            await _answer(send, 405, {"error": "Method Not Allowed"}, [(b"allow", b"POST")])
            return
        node: Node = scope["app"].state.node
        try:
            status, error = await _accept(node, scope, receive_message, path, organization)
        except Exception:
            log.exception("inbox failed on %s", path)
            status, error = 500, {"error": "Internal Server Error"}
        await _answer(send, status, error)


async def _accept(
    node: Node,
    scope: Scope,
    receive_message: Receive,
    path: str,
    organization: re.Match[str] | None,
) -> tuple[int, dict[str, Any] | None]:
    recipient: LocalActor | None = None
    if organization is not None or path == "/actor/inbox":
        name = organization.group(1) if organization is not None else INSTANCE_USERNAME
        if organization is not None and name == INSTANCE_USERNAME:
            return 404, {"error": "No such organization"}
        async with node.db.read() as session:
            recipient = await node.federation.local_actor_by_username(session, name)
        if recipient is None:
            return 404, {"error": "No such organization"}

    headers: dict[str, str] = {}
    for key, value in reversed(scope["headers"]):
        # The first of repeated headers wins, as Starlette's Headers.get does.
        headers[key.decode("latin-1")] = value.decode("latin-1")
    limit = node.federation.config.max_inbox_bytes
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return _refused(413, "too_large", f"body larger than {limit} bytes")
    body = await _read_capped(receive_message, limit)
    if body is None:
        return _refused(413, "too_large", f"body larger than {limit} bytes")

    # The signature covers the request target as the sender wrote it: undecoded.
    raw_path = scope.get("raw_path")
    target = raw_path.decode("latin-1") if raw_path else scope["path"]
    if query := scope.get("query_string"):
        target += "?" + query.decode("latin-1")
    try:
        result = await receive(
            node.federation,
            method="POST",
            path=target,
            headers=headers,
            body=body,
            recipient=recipient,
        )
    except InboxRejection as exc:
        log.info("inbox refused (%s): %s", exc.reason.value, exc.message)
        return _refused(exc.status, exc.reason.value, exc.message)
    return (202 if not result.duplicate else 200), None


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path != root:
        return path[len(root) :]
    return path


async def _read_capped(receive_message: Receive, limit: int) -> bytes | None:
    """The body, or None once it grows past `limit` (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive_message()
        if message["type"] != "http.request":
            return b"".join(chunks)  # the client went away; what came is refused as bad JSON
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _refused(status: int, reason: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": message, "reason": reason}


async def _answer(
    send: Send,
    status: int,
    error: dict[str, Any] | None,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps(error).encode() if error is not None else b""
    headers = [(b"content-length", str(len(body)).encode())]
    if error is not None:
        headers += _JSON_HEADERS
    headers += extra_headers or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
