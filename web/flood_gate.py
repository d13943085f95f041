"""Refusing a flood of posts to the public forms (/submit, /contact) before it costs anything.

The database (web/throttle.py) alone decides whether a client address may post: every web
process counts the same posts there. But asking it, and before that loading the session,
checking the CSRF token and looking up the alert banner, is what a flood makes the node do
hundreds of times a second, and the other pages wait behind it.

Once the database has refused an address, the refusal lasts until the oldest of its counted
posts leaves the window: refused posts are not counted and these limits are never cleared, so
nothing but time can let the address in sooner (posts that raced past the limit only make the
database refuse longer). A web process therefore remembers "address X may not post to form F
until T" and answers X's next posts itself, as the outermost middleware: a lookup in a dict
and a page rendered once per language. Each process learns it from the database on its first
refusal of X; none ever refuses longer than the database would.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from web import i18n
from web.security_headers import security_headers
from web.throttle import client_address

__all__ = [
    "CONTACT_TOO_MANY",
    "FORMS",
    "SUBMIT_TOO_MANY",
    "FloodGate",
    "Refusals",
    "refusal",
    "refusals",
    "remember",
]


def _(message: str) -> str:
    """Marks a message for the catalogs; translated when shown."""
    return message


SUBMIT_TOO_MANY = _(
    "Too many plans from here or from this address. Please try again in an hour, or tomorrow."
)
CONTACT_TOO_MANY = _(
    "Too many messages from here or from this address. Please try again in an hour, or tomorrow."
)


@dataclass(frozen=True)
class Form:
    title: str
    too_many: str
    not_sent: str


FORMS = {
    "submit": Form(
        _("Submit your plans"),
        SUBMIT_TOO_MANY,
        _(
            "Your plan was not sent. Your browser's Back button takes you to it as you typed it, to send it later."  # noqa: E501
        ),
    ),
    "contact": Form(
        _("Contact us"),
        CONTACT_TOO_MANY,
        _(
            "Your message was not sent. Your browser's Back button takes you to it as you typed it, to send it later."  # noqa: E501
        ),
    ),
}
_PATHS = {f"/{name}": name for name in FORMS}

# Addresses remembered per process. A flood from more addresses than this only makes the
# process ask the database again about the ones it forgot.
CAPACITY = 10_000


class Refusals:
    """(form, client address) → the moment (seconds since the epoch, as `clock` gives them)
    until which the database refuses the address's posts to the form."""

    def __init__(self, *, clock: Callable[[], float] = time.time, capacity: int = CAPACITY) -> None:
        self.clock = clock
        self.capacity = capacity
        self._until: dict[tuple[str, str], float] = {}

    def remember(self, form: str, address: str, until: datetime) -> None:
        key = (form, address)
        self._until.pop(key, None)  # re-inserted last: the oldest entries go first when full
        if len(self._until) >= self.capacity:
            self._forget_some()
        self._until[key] = until.timestamp()

    def wait(self, form: str, address: str) -> int | None:
        """Whole seconds until the address may post to the form (for Retry-After), or None
        when this process knows of no refusal."""
        key = (form, address)
        until = self._until.get(key)
        if until is None:
            return None
        left = until - self.clock()
        if left <= 0:
            self._until.pop(key, None)
            return None
        return max(1, math.ceil(left))

    def __len__(self) -> int:
        return len(self._until)

    def _forget_some(self) -> None:
        now = self.clock()
        for key in [key for key, until in self._until.items() if until <= now]:
            del self._until[key]
        while len(self._until) >= self.capacity:
            del self._until[next(iter(self._until))]


def refusals(app: Any) -> Refusals:
    """The process's refusals, kept on the application (one per app, as tests run several)."""
    found: Refusals | None = getattr(app.state, "flood_refusals", None)
    if found is None:
        found = app.state.flood_refusals = Refusals()
    return found


def remember(request: Request, form: str, refused_until: datetime) -> int:
    """Note the database's refusal of this request's address; the seconds it lasts."""
    memory = refusals(request.app)
    memory.remember(form, client_address(request.scope), refused_until)
    return memory.wait(form, client_address(request.scope)) or 1


def refusal(request: Request, form: str, wait: int) -> Response:
    """The short page that says the post was refused and until when, in the visitor's
    language; Retry-After says it to programs."""
    words = FORMS[form]
    lang = i18n.language(request)
    response = request.app.state.templates.render(
        request,
        "form_refused.html",
        {
            "title": i18n.translate(words.title, lang),
            "text": i18n.translate(words.too_many, lang),
            "not_sent": i18n.translate(words.not_sent, lang),
        },
        status=429,
    )
    response.headers["Retry-After"] = str(wait)
    return response


class FloodGate:
    """Outermost middleware: a POST to a public form from an address this process knows to be
    refused gets the refusal page at once; everything else goes on untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # (form, language) → the page's headers and body, rendered once: the page differs by
        # nothing else when the URL has no query (a query, which the page's language links
        # repeat and a flood could vary at will, is rendered each time and not kept).
        self._pages: dict[tuple[str, str], tuple[list[tuple[bytes, bytes]], bytes]] = {}
        self._security: list[tuple[bytes, bytes]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        form = _PATHS.get(_route_path(scope))
        if form is None:
            await self.app(scope, receive, send)
            return
        wait = refusals(scope["app"]).wait(form, client_address(scope))
        if wait is None:
            await self.app(scope, receive, send)
            return
        headers, body = self._page(scope, form, wait)
        headers = [*headers, (b"retry-after", str(wait).encode())]
        # The body is not read: uvicorn drops the rest of it and keeps the connection.
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _page(self, scope: Scope, form: str, wait: int) -> tuple[list[tuple[bytes, bytes]], bytes]:
        # The page is rendered as a visitor without a session sees it (the session is not
        # loaded here: that is part of what this saves).
        request = Request({**scope, "session": {}, "state": {}})
        cacheable = not scope.get("query_string")
        key = (form, i18n.language(request))
        if cacheable and key in self._pages:
            return self._pages[key]
        response = refusal(request, form, wait)
        del response.headers["retry-after"]
        headers = list(response.raw_headers)
        present = {name for name, _value in headers}
        headers += [item for item in self._security_headers(scope) if item[0] not in present]
        page = (headers, bytes(response.body))
        if cacheable:
            self._pages[key] = page
        return page

    def _security_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        # What SecurityHeaders, further in, would have added to the page.
        if self._security is None:
            settings = scope["app"].state.node.settings
            self._security = security_headers(settings.scheme == "https", settings.map_tile_origin)
        return self._security


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path != root:
        return path[len(root) :]
    return path
