"""Finished public answers kept in each web process, served again without being made again.

When an action is published, every server that receives it fetches its page, its object and
its organization within seconds (Mastodon's preview stampede), and a link that goes round
brings a crowd. Making an answer costs database round trips and a template; handing back the
bytes made a moment ago costs almost nothing. So this middleware, outermost, keeps the answers
`web/read_cache.py` marked public (anonymous `GET`s answered 200 with `Cache-Control: public`,
never a personal link, a form, a page for a session or one that sets a cookie) and serves
them to requests that would have had the same answer:

- the same path and query, and the same `Host`, `Accept`, `Accept-Language` and `Cookie` as
  sent (the page's language and kind come from those; a request with the admin session cookie
  is never served from here);
- made under the node's current content version (federation/content_version.py): any commit,
  in any process of the node, to what pages are made of moves the version, and from then on
  no answer made before is served. An edit is seen by the very next request. The version of
  the block list this process holds is part of it: a page made before this process learnt of
  a block must not outlive that;
- younger than IWSN_READ_CACHE_SECONDS (0 turns this cache off), for what time alone changes
  (an action that has begun, an alert whose time ran out).

Requests for one answer that is being made wait for it instead of making it again, so a
stampede costs one page per kind. `If-None-Match` and `If-Modified-Since` are answered here
from the kept answer's validators. The memory is bounded (least recently used go first).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.read_cache import OWN_RULES, SESSION_COOKIE, is_fresh, is_private, strip_for_not_modified

# Headers whose values choose the answer (besides the path and query).
_KEYED = (b"host", b"accept", b"accept-language", b"cookie")
_CONDITIONAL = (b"if-none-match", b"if-modified-since")
# An answer larger than this is not kept: none of the public reads is near it.
MAX_ANSWER = 1024 * 1024
MAX_BYTES = 32 * 1024 * 1024

Key = tuple[str, str, bytes, bytes, bytes, bytes, bytes]


@dataclass(slots=True)
class Answer:
    version: Hashable
    made: float
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str
    last_modified: str | None

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(name) + len(value) for name, value in self.headers)

    async def send_to(self, scope: Scope, send: Send, now: float) -> None:
        headers = [*self.headers, (b"age", str(int(now - self.made)).encode())]
        if is_fresh(Headers(scope=scope), self.etag, self.last_modified):
            not_modified = MutableHeaders(raw=headers)
            strip_for_not_modified(not_modified)
            await send({"type": "http.response.start", "status": 304, "headers": not_modified.raw})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else self.body
        await send({"type": "http.response.body", "body": body})


class PageCache:
    def __init__(
        self,
        app: ASGIApp,
        *,
        version: Callable[[], Hashable],
        seconds: int,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.app = app
        self.version = version
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.answers: OrderedDict[Key, Answer] = OrderedDict()
        self.bytes = 0
        self.making: dict[Key, tuple[Hashable, asyncio.Future[Answer | None]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        version = self.version()
        kept = self.answers.get(key)
        if kept is not None:
            if kept.version == version and now - kept.made < self.seconds:
                self.answers.move_to_end(key)
                await kept.send_to(scope, send, now)
                return
            self._drop(key)
        if scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        making = self.making.get(key)
        if making is not None and making[0] == version:
            made = await asyncio.shield(making[1])
            if made is not None:
                await made.send_to(scope, send, time.monotonic())
            else:
                await self.app(scope, receive, send)
            return
        future: asyncio.Future[Answer | None] = asyncio.get_running_loop().create_future()
        self.making[key] = (version, future)
        made = None
        try:
            made = await self._make(scope, receive, send, version, now)
        finally:
            if self.making.get(key, (None, None))[1] is future:
                del self.making[key]
            future.set_result(made)
        if made is not None:
            self._keep(key, made)
            await made.send_to(scope, send, time.monotonic())

    def _key(self, scope: Scope) -> Key | None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not self.seconds:
            return None
        path: str = scope["path"]
        if path.startswith(OWN_RULES) or is_private(path):
            return None
        chosen = dict.fromkeys(_KEYED, b"")
        for name, value in scope["headers"]:
            if name in chosen:
                chosen[name] = value
        if SESSION_COOKIE.encode() in chosen[b"cookie"]:
            return None
        query = scope.get("query_string", b"").decode("latin-1")
        scheme = scope.get("scheme", "http")
        return (path, query, scheme.encode(), *chosen.values())

    async def _make(
        self, scope: Scope, receive: Receive, send: Send, version: Hashable, now: float
    ) -> Answer | None:
        """Has the app make the whole answer (conditions aside, so that it is a 200 with its
        body); keeps it when it is public, else passes it on to the client as it comes."""
        headers = [(n, v) for n, v in scope["headers"] if n not in _CONDITIONAL]
        capture = _Capture(send)
        await self.app({**scope, "headers": headers}, receive, capture)
        if capture.start is None or capture.passed_on:
            return None
        response_headers = Headers(raw=capture.start["headers"])
        return Answer(
            version=version,
            made=now,
            headers=list(capture.start["headers"]),
            body=b"".join(capture.body),
            etag=response_headers["etag"],
            last_modified=response_headers.get("last-modified"),
        )

    def _keep(self, key: Key, answer: Answer) -> None:
        self._drop(key)
        self.answers[key] = answer
        self.bytes += answer.size
        while self.bytes > self.max_bytes and self.answers:
            self._drop(next(iter(self.answers)))

    def _drop(self, key: Key) -> None:
        answer = self.answers.pop(key, None)
        if answer is not None:
            self.bytes -= answer.size


class _Capture:
    """Holds a public 200 back until its body is whole; anything else goes straight on."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.start: Message | None = None
        self.body: list[bytes] = []
        self.size = 0
        self.passed_on = False

    async def __call__(self, message: Message) -> None:
        if self.passed_on:
            await self.send(message)
            return
        if message["type"] == "http.response.start":
            self.start = message
            if not _keepable(Headers(raw=message["headers"]), message["status"]):
                await self._pass_on()
            return
        if message["type"] != "http.response.body":
            await self.send(message)
            return
        chunk = message.get("body", b"")
        self.body.append(chunk)
        self.size += len(chunk)
        if self.size > MAX_ANSWER:
            await self._pass_on(more=message.get("more_body", False))

    async def _pass_on(self, *, more: bool | None = None) -> None:
        self.passed_on = True
        assert self.start is not None
        await self.send(self.start)
        if more is not None:
            body = b"".join(self.body)
            await self.send({"type": "http.response.body", "body": body, "more_body": more})


def _keepable(headers: Headers, status: int) -> bool:
    # web/read_cache.py gave it its public Cache-Control and ETag; it decided what is public.
    return (
        status == 200
        and headers.get("cache-control", "").startswith("public")
        and "etag" in headers
        and "set-cookie" not in headers
    )
