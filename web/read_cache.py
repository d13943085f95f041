"""Validators and cache headers for anonymous public reads: ETag, 304, Cache-Control, Vary.

An action's page, its AS2 object, an organization's actor, WebFinger: each is read by many
servers and visitors and changes rarely. This middleware lets a reverse proxy, a browser or a
remote server reuse what it has: every anonymous `GET`/`HEAD` answered 200 whose route chose no
`Cache-Control` of its own gets

- `ETag`: a hash of the body, computed once per response, so the tag changes exactly when the
  bytes do (an edit, a cancel, an alert in the banner, another language) and a 304 is never
  stale;
- `304 Not Modified` without a body when the request's `If-None-Match` holds that tag, or, with
  no `If-None-Match`, when its `If-Modified-Since` is not older than a `Last-Modified` the
  route gave;
- `Cache-Control: public, max-age=N` (IWSN_READ_CACHE_SECONDS, short) and `Vary: Accept`, the
  same URL being HTML or ActivityStreams per `Accept`; pages in the visitor's language (those
  with a `Content-Language`) also `Vary: Accept-Language, Cookie`: the language comes from
  either, and a session cookie makes another page. AS2 documents, WebFinger and feeds are the
  same in every language (tests/web/test_i18n.py) and stay one per `Accept` for caches.

The page is still made on every request that reaches the node: this saves bytes and lets a
proxy in front absorb a stampede, not the node's own work.

Never cached: a request with the admin session cookie; a response that sets a cookie or chose
its own `Cache-Control` (pages made for a session say `no-store`, web/templating.py); anything
but 200; and the paths below, which carry personal tokens or forms. Those get `no-store`.
"""

from __future__ import annotations

import hashlib
from email.utils import parsedate_to_datetime

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Personal links (a signer's confirm/manage/unsubscribe token, a submission's status token,
# an assembly's leave token, an admin's setup token) and form pages: for one person only.
PRIVATE_PREFIXES = ("/admin", "/sign/", "/submit", "/contact", "/inbox")
PRIVATE_PARTS = ("/leave/", "/attendees", "/inbox")
# Files with validators and lifetimes of their own (StaticFiles, images named by content).
OWN_RULES = ("/static/", "/media/")
SESSION_COOKIE = "iwsn_session"
VARY = ("Accept", "Accept-Language", "Cookie")
# Bodies above this are passed through as they come (none of the public reads is near it).
MAX_BODY = 2 * 1024 * 1024


def is_private(path: str) -> bool:
    return (
        path == "/sign"
        or path.startswith(PRIVATE_PREFIXES)
        or any(part in path for part in PRIVATE_PARTS)
    )


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    # Weak comparison (RFC 9110 13.1.2): W/"x" matches "x", as proxies that compress weaken tags.
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in wanted or etag in wanted


def _not_modified_since(if_modified_since: str, last_modified: str) -> bool:
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False


def is_fresh(request_headers: Headers, etag: str, last_modified: str | None) -> bool:
    """Whether the client's copy, as its conditional headers describe it, is this one."""
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:
        return _matches(if_none_match, etag)
    since = request_headers.get("if-modified-since")
    return bool(since and last_modified and _not_modified_since(since, last_modified))


def strip_for_not_modified(headers: MutableHeaders) -> None:
    """A 304 keeps the validators and caching headers, not the body's length nor type
    (RFC 9110 15.4.5)."""
    for name in ("content-length", "content-type"):
        if name in headers:
            del headers[name]


class ReadCache:
    def __init__(self, app: ASGIApp, max_age: int = 10) -> None:
        self.app = app
        self.cache_control = f"public, max-age={max_age}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(OWN_RULES):
            await self.app(scope, receive, send)
            return
        if is_private(path):
            await self.app(scope, receive, self._no_store(send))
            return
        request_headers = Headers(scope=scope)
        if SESSION_COOKIE in request_headers.get("cookie", ""):
            # An admin (or a stale session cookie): pages may be made for them. templating.py
            # marks those no-store; the rest simply get no public caching.
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Validator(send, request_headers, self.cache_control))

    @staticmethod
    def _no_store(send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-store"
            await send(message)

        return sending


class _Validator:
    """Holds back the response start until the whole body is known, then tags it."""

    def __init__(self, send: Send, request_headers: Headers, cache_control: str) -> None:
        self.send = send
        self.request_headers = request_headers
        self.cache_control = cache_control
        self.start: Message | None = None
        self.body: list[bytes] = []
        self.size = 0
        self.passing = False

    async def __call__(self, message: Message) -> None:
        if self.passing:
            await self.send(message)
            return
        if message["type"] == "http.response.start":
            headers = Headers(raw=message["headers"])
            if (
                message["status"] != 200
                or "cache-control" in headers
                or "set-cookie" in headers
                or "etag" in headers
            ):
                self.passing = True
                await self.send(message)
                return
            self.start = message
            return
        if message["type"] != "http.response.body":
            await self.send(message)
            return
        chunk = message.get("body", b"")
        self.body.append(chunk)
        self.size += len(chunk)
        if message.get("more_body", False):
            if self.size > MAX_BODY:
                await self._flush_untagged(more=True)
            return
        await self._finish()

    async def _flush_untagged(self, *, more: bool) -> None:
        assert self.start is not None
        self.passing = True
        await self.send(self.start)
        body = b"".join(self.body)
        await self.send({"type": "http.response.body", "body": body, "more_body": more})

    async def _finish(self) -> None:
        assert self.start is not None
        body = b"".join(self.body)
        etag = etag_of(body)
        headers = MutableHeaders(scope=self.start)
        headers["ETag"] = etag
        headers["Cache-Control"] = self.cache_control
        vary = [v.strip() for v in headers.get("vary", "").split(",") if v.strip()]
        # A page in the visitor's language (it says which) also varies with what chose it and
        # with the session cookie; AS2 documents, WebFinger and feeds are one per Accept.
        wanted = VARY if "content-language" in headers else VARY[:1]
        vary += [name for name in wanted if name.lower() not in {v.lower() for v in vary}]
        headers["Vary"] = ", ".join(vary)
        if is_fresh(self.request_headers, etag, headers.get("last-modified")):
            strip_for_not_modified(headers)
            self.start["status"] = 304
            await self.send(self.start)
            await self.send({"type": "http.response.body", "body": b""})
            return
        await self.send(self.start)
        await self.send({"type": "http.response.body", "body": body})
