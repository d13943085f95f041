"""Admin sessions: a revocable session id in a signed cookie, and a CSRF token per session.

Login throttling is web.throttle."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from actors import admins
from web.forms import read_form

SESSION_ADMIN = "admin_id"
SESSION_TOKEN = "admin_session"  # noqa: S105 (a key in the session, not a secret)
SESSION_CSRF = "csrf"


async def log_in(request: Request, admin_id: int) -> None:
    # A fresh session on login: a session id planted before login is worth nothing after.
    request.session.clear()
    request.session[SESSION_TOKEN] = await admins.open_session(request.app.state.node.db, admin_id)
    request.session[SESSION_ADMIN] = admin_id


async def log_out(request: Request) -> None:
    token = request.session.get(SESSION_TOKEN)
    if isinstance(token, str):
        await admins.close_session(request.app.state.node.db, token)
    request.session.clear()


class AdminSessions:
    """Believes a cookie's admin only while its session row lives (actors.admins).

    Runs inside SessionMiddleware. A cookie whose session was ended (logout, a new password,
    "log out everywhere", expiry) loses its admin keys here, so routes and templates that ask
    `request.session` for the admin see none. Visitors without an admin key cost no query.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            session = scope.get("session")
            if session and (SESSION_ADMIN in session or SESSION_TOKEN in session):
                token = session.get(SESSION_TOKEN)
                admin_id = None
                if isinstance(token, str):
                    admin_id = await admins.session_admin(scope["app"].state.node.db, token)
                if admin_id is None or admin_id != session.get(SESSION_ADMIN):
                    session.pop(SESSION_ADMIN, None)
                    session.pop(SESSION_TOKEN, None)
        await self.app(scope, receive, send)


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_CSRF)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


async def check_csrf(request: Request) -> None:
    """Every form POST carries the session's token; a forged cross-site form cannot know it."""
    form = await read_form(request)
    sent = form.get("csrf_token")
    expected = request.session.get(SESSION_CSRF)
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "The form has expired or did not come from this site. Reload it.")


def admin_required(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    @wraps(endpoint)
    async def guarded(request: Request) -> Response:
        # AdminSessions has checked the session against the database before we get here.
        if not request.session.get(SESSION_ADMIN):
            response: Response = RedirectResponse(
                f"/admin/login?next={request.url.path}", status_code=303
            )
        else:
            if request.method == "POST":
                await check_csrf(request)
            response = await endpoint(request)
        # What an admin sees is theirs alone: no shared cache may keep it.
        response.headers["Cache-Control"] = "no-store"
        return response

    return guarded
