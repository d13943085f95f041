"""The active alerts banner on every page: one query per page request, kept out of routes.

A small ASGI middleware puts the live alerts in `request.state.alerts` for GET requests that
may render HTML; `base.html` shows them. Servers asking for ActivityStreams, static files and
inboxes never pay for it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from actors import alerts
from web.negotiation import wants_activity_json

SKIP = ("/static/", "/media/", "/inbox", "/.well-known/", "/nodeinfo")


class AlertBannerMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            request = Request(scope)
            if not path.startswith(SKIP) and not path.endswith("inbox"):
                if not wants_activity_json(request):
                    node: Any = scope["app"].state.node
                    async with node.db.read() as session:
                        found = await alerts.active(session)
                    scope.setdefault("state", {})["alerts"] = [
                        {"alert": alert, "page": alerts.page_path(alert)} for alert in found
                    ]
        await self.app(scope, receive, send)
