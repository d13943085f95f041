"""The admin area: first-run password setup, login, and the node's federation at a glance."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import admins, contact, submissions
from actors.errors import ValidationError
from actors.mail import queue as mail_queue
from actors.models import Event, Reply
from actors.organizations import all_organizations, by_name, update_profile
from federation import follows, heartbeats
from federation.client import FetchError
from federation.delivery import queue_status, resume_host
from federation.models import Follower, Following, LocalActor
from federation.node import INSTANCE_USERNAME
from federation.remote_actors import ActorError
from web import messages
from web.auth import SESSION_ADMIN, admin_required, check_csrf, log_in, log_out
from web.forms import read_form
from web.i18n import language
from web.routes import common


def _client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after login would be a phishing aid.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/admin"
    parts = urlsplit(target)
    return parts.path if not parts.netloc else "/admin"


async def login(request: Request) -> Response:
    templates = request.app.state.templates
    next_path = _safe_next(request.query_params.get("next"))
    if request.method == "GET":
        welcome = request.session.pop("welcome_username", None)
        return templates.render(
            request,
            "admin/login.html",
            {"next": next_path, "username": welcome or "", "welcome": bool(welcome)},
        )
    await check_csrf(request)
    form = await read_form(request)
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    # Per address against one guesser, per account against many addresses guessing together.
    limits = (
        (request.app.state.login_address_throttle, _client_key(request)),
        (request.app.state.login_account_throttle, username.lower()),
    )
    for throttle, key in limits:
        if (wait := await throttle.retry_after(key)) is not None:
            return _too_many(request, next_path, wait)
    # Counted before the password is checked, so parallel guesses count against each other.
    allowed = [await throttle.hit(key) for throttle, key in limits]
    if not all(allowed):
        waits = [await throttle.retry_after(key) for throttle, key in limits]
        return _too_many(request, next_path, max(wait or 1 for wait in waits))
    account = await admins.authenticate(common.node(request).db, username, password)
    if account is None:
        return templates.render(
            request,
            "admin/login.html",
            {"next": next_path, "error": "invalid", "username": username},
            status=401,
        )
    for throttle, key in limits:
        await throttle.clear(key)
    await log_in(request, account.id)
    return RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)


def _too_many(request: Request, next_path: str, wait: int) -> Response:
    response = request.app.state.templates.render(
        request,
        "admin/login.html",
        {"next": next_path, "error": "too_many", "wait_minutes": -(-wait // 60)},
        status=429,
    )
    response.headers["Retry-After"] = str(wait)
    return response


@admin_required
async def logout(request: Request) -> Response:
    await log_out(request)
    return RedirectResponse("/", status_code=303)


@admin_required
async def logout_everywhere(request: Request) -> Response:
    """Ends every session of this admin: a lost laptop, a cookie that may have leaked."""
    await admins.close_all_sessions(common.node(request).db, request.session[SESSION_ADMIN])
    request.session.clear()
    return RedirectResponse("/admin/login", status_code=303)


async def setup(request: Request) -> Response:
    node = common.node(request)
    templates = request.app.state.templates
    token = request.path_params["token"]
    if not await admins.setup_token_valid(node.db, token):
        if request.session.get(SESSION_ADMIN):
            return RedirectResponse("/admin", status_code=303)
        return templates.render(request, "admin/setup.html", {"invalid": True}, status=404)
    if request.method == "GET":
        return templates.render(request, "admin/setup.html", {})
    await check_csrf(request)
    form = await read_form(request)
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    if password != str(form.get("password_again", "")):
        return templates.render(
            request, "admin/setup.html", {"error": "mismatch", "username": username}, status=400
        )
    try:
        await admins.redeem_setup_token(node.db, token, username, password)
    except admins.AdminError as exc:
        return templates.render(
            request, "admin/setup.html", {"error_text": str(exc), "username": username}, status=400
        )
    request.session["welcome_username"] = username
    return RedirectResponse("/admin/login", status_code=303)


@admin_required
async def dashboard(request: Request) -> Response:
    node = common.node(request)
    async with node.db.read() as session:
        organizations = await all_organizations(session)
        followers = await follows.latest(session, Follower)
        following = await follows.latest(session, Following)
        queue = await queue_status(session)
        contact_unread = await contact.unread_count(session)
        plans_waiting = await submissions.waiting_count(session)
        mail = await mail_queue.status(session, recent=0)
    working = await heartbeats.alive(node.db)
    names = {actor.id: org.name for org, actor in organizations}
    return request.app.state.templates.render(
        request,
        "admin/dashboard.html",
        {
            "organizations": organizations,
            "followers": followers,
            "following": following,
            "names": names,
            "queue": queue,
            "contact_unread": contact_unread,
            "plans_waiting": plans_waiting,
            "mail": mail,
            "mail_on": node.settings.smtp is not None,
            "working": len(working),
            "flash_error": request.session.pop("flash_error", None),
        },
    )


@admin_required
async def decide_follower(request: Request) -> Response:
    node = common.node(request)
    if request.path_params["decision"] not in ("approve", "reject"):
        raise HTTPException(404, "Unknown decision")
    async with node.db.read() as session:
        follower = await session.get(Follower, request.path_params["follower_id"])
        local = await session.get(LocalActor, follower.local_actor_id) if follower else None
    if follower is None or local is None:
        raise HTTPException(404, "No such follower")
    decide = (
        follows.approve_follower
        if request.path_params["decision"] == "approve"
        else follows.reject_follower
    )
    await decide(node.federation, local, follower.actor_uri)
    return RedirectResponse("/admin", status_code=303)


@admin_required
async def follow_form(request: Request) -> Response:
    """Follow another node or organization from the dashboard, as `iwsn follow` does."""
    node = common.node(request)
    form = await read_form(request)
    target = str(form.get("target", "")).strip()
    unfollow = request.url.path.endswith("/unfollow")
    async with node.db.read() as session:
        local = await node.federation.local_actor_by_username(session, INSTANCE_USERNAME)
    assert local is not None
    try:
        uri = await follows.resolve_target(node.federation, target)
        if unfollow:
            await follows.unfollow(node.federation, local, uri)
        else:
            await follows.follow(node.federation, local, uri)
    except (ValueError, FetchError, ActorError, follows.FollowError) as exc:
        request.session["flash_error"] = str(exc)
    return RedirectResponse("/admin#following", status_code=303)


@admin_required
async def edit_organization(request: Request) -> Response:
    node = common.node(request)
    templates = request.app.state.templates
    async with node.db.read() as session:
        found = await by_name(session, request.path_params["name"])
    if found is None:
        raise HTTPException(404, "No such organization")
    organization, actor = found
    values: dict[str, Any] = {
        "display_name": organization.display_name,
        "summary": organization.summary,
        "manual": actor.manually_approves_followers,
    }
    if request.method == "POST":
        form = await read_form(request)
        values = {
            "display_name": str(form.get("display_name", "")),
            "summary": str(form.get("summary", "")),
            "manual": form.get("manual") == "on",
        }
        try:
            await update_profile(
                node.federation,
                organization.name,
                display_name=values["display_name"],
                summary=values["summary"],
                manually_approves_followers=values["manual"],
            )
        except ValidationError as exc:
            error = messages.sentences(exc, language(request))
            return templates.render(
                request,
                "admin/organization.html",
                {"organization": organization, "values": values, "error": error},
                status=400,
            )
        return RedirectResponse("/admin", status_code=303)
    return templates.render(
        request, "admin/organization.html", {"organization": organization, "values": values}
    )


@admin_required
async def hide_reply(request: Request) -> Response:
    node = common.node(request)
    async with node.db.transaction() as session:
        reply = await session.get(Reply, request.path_params["reply_id"])
        if reply is None:
            raise HTTPException(404, "No such reply")
        reply.hidden = True
        event = await session.get(Event, reply.event_id)
    return RedirectResponse(event.uri if event else "/admin", status_code=303)


@admin_required
async def resume_deliveries(request: Request) -> Response:
    """Deliver to a server given up on (or resting behind its breaker) again, at once."""
    form = await read_form(request)
    host = str(form.get("host", "")).strip()
    if not host:
        raise HTTPException(400, "Which server?")
    if not await resume_host(common.node(request).db, host):
        raise HTTPException(404, "That server is not marked unavailable")
    return RedirectResponse("/admin#deliveries", status_code=303)


routes = [
    Route("/admin", dashboard),
    Route("/admin/deliveries/resume", resume_deliveries, methods=["POST"]),
    Route("/admin/replies/{reply_id:int}/hide", hide_reply, methods=["POST"]),
    Route("/admin/organizations/{name}", edit_organization, methods=["GET", "POST"]),
    Route("/admin/follow", follow_form, methods=["POST"]),
    Route("/admin/unfollow", follow_form, methods=["POST"]),
    Route(
        "/admin/followers/{follower_id:int}/{decision:str}",
        decide_follower,
        methods=["POST"],
    ),
    Route("/admin/login", login, methods=["GET", "POST"]),
    Route("/admin/logout", logout, methods=["POST"]),
    Route("/admin/logout-everywhere", logout_everywhere, methods=["POST"]),
    Route("/admin/setup/{token}", setup, methods=["GET", "POST"]),
]
