"""The Starlette application of one node."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from actors import admins
from actors.errors import NotFound, ValidationError
from actors.events import MAX_DESCRIPTION
from web import i18n, messages, near_map
from web.alert_banner import AlertBannerMiddleware
from web.auth import AdminSessions, csrf_token
from web.flood_gate import FloodGate
from web.form_guard import FormGuard
from web.inbox_endpoint import InboxEndpoint
from web.labels import (
    alert_asked,
    alert_place,
    ask_label,
    kind_label,
    organization_kind_label,
    topic_label,
)
from web.negotiation import wants_activity_json
from web.page_cache import PageCache
from web.read_cache import ReadCache
from web.routes import (
    activitypub,
    admin,
    admin_alerts,
    admin_blocks,
    admin_call,
    admin_contact,
    admin_days,
    admin_events,
    admin_participants,
    admin_reports,
    admin_signatures,
    admin_submissions,
    alerts,
    contact,
    days,
    events,
    feeds,
    near,
    pages,
    reports,
    signatures,
    submit,
    tags,
    wellknown,
)
from web.runtime import Node
from web.security_headers import SecurityHeaders
from web.templating import Templates
from web.throttle import Throttle

STATIC = Path(__file__).parent / "static"


def create_app(node: Node, *, workers: int = 1, process_inbox: bool = False) -> Starlette:
    """`workers` delivery workers run inside the web process; 0 leaves delivery to `iwsn worker`.

    The inbox is processed wherever the delivery workers run, or here with `process_inbox`
    (tests drive delivery by hand but still want incoming activities handled).
    """

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await node.watch_blocks()
        if workers:
            node.start_workers(workers)
        elif process_inbox:
            node.start_inbox_processor()
        try:
            yield
        finally:
            await node.aclose()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if wants_activity_json(request) or request.url.path.endswith("inbox"):
            return JSONResponse(
                {"error": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        response = request.app.state.templates.render(
            request,
            "error.html",
            {
                "status": exc.status_code,
                "message": i18n.translate(exc.detail, i18n.language(request)),
            },
            status=exc.status_code,
        )
        response.headers.update(exc.headers or {})
        return response

    async def domain_error(request: Request, exc: Exception) -> Response:
        """What the domain refused, for routes that do not show it beside a form field: a
        thing of ours that is not there (404), input it will not take (400)."""
        assert isinstance(exc, NotFound | ValidationError)
        status = 404 if isinstance(exc, NotFound) else 400
        if wants_activity_json(request):
            return JSONResponse(
                {"error": messages.sentences(exc, i18n.DEFAULT)}, status_code=status
            )
        return request.app.state.templates.render(
            request,
            "error.html",
            {"status": status, "message": messages.sentences(exc, i18n.language(request))},
            status=status,
        )

    settings = node.settings
    app = Starlette(
        # ActivityPub first: servers fetch actors most, and routing tries them in order.
        routes=[
            *activitypub.routes,
            *wellknown.routes,
            *feeds.routes,  # before events: /actions/{id} would take 'x.ics' as an id
            *events.routes,
            *days.routes,
            *alerts.routes,
            *reports.routes,
            *tags.routes,
            *near.routes,
            *contact.routes,
            *pages.routes,
            *signatures.routes,
            *submit.routes,
            *admin.routes,
            *admin_events.routes,
            *admin_alerts.routes,
            *admin_days.routes,
            *admin_reports.routes,
            *admin_participants.routes,
            *admin_signatures.routes,
            *admin_blocks.routes,
            *admin_contact.routes,
            *admin_call.routes,
            *admin_submissions.routes,
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[
            Middleware(FloodGate),  # first: refused form posts skip everything (web/flood_gate.py)
            # Outside the rest: a kept answer already has every header the layers below add.
            Middleware(
                PageCache,
                version=lambda: (
                    node.db.content_version.current(),
                    node.federation.blocks.version,
                ),
                seconds=settings.read_cache_seconds,
            ),
            Middleware(
                SecurityHeaders,
                https=settings.scheme == "https",
                map_tile_origin=settings.map_tile_origin,
            ),
            # Inbox POSTs skip everything below (web/inbox_endpoint.py says why).
            Middleware(InboxEndpoint),
            # Outside the banner and the session: it sees the finished page and its cookies.
            Middleware(ReadCache, max_age=settings.read_cache_seconds),
            Middleware(AlertBannerMiddleware),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie="iwsn_session",
                https_only=settings.scheme == "https",
                same_site="lax",
                max_age=int(admins.SESSION_LIFETIME.total_seconds()),
            ),
            Middleware(AdminSessions),
        ],
        exception_handlers={
            HTTPException: http_error,
            NotFound: domain_error,
            ValidationError: domain_error,
        },
        lifespan=lifespan,
    )
    app.state.node = node
    app.state.templates = Templates(
        {
            "node_name": settings.node_name,
            "node_domain": settings.domain,
            "csrf_token": csrf_token,
            "kind_label": kind_label,
            "topic_label": topic_label,
            "alert_place": alert_place,
            "alert_asked": alert_asked,
            "ask_label": ask_label,
            "organization_kind_label": organization_kind_label,
            # A browser stops typing at the domain's limit, rather than the node refusing
            # what was typed (a form far larger is refused before it is read: web/forms.py).
            "description_limit": MAX_DESCRIPTION,
            "near_map_points": near_map.points,
            "map_tiles": {"url": settings.map_tile_url, "attribution": settings.map_attribution},
        }
    )
    # Failed logins, counted in the database so that every web process sees them all.
    app.state.login_address_throttle = Throttle(node.db, "login-address", max_attempts=5)
    # Higher: one account's limit is reached by guessers anywhere, and locks its admin out too.
    app.state.login_account_throttle = Throttle(node.db, "login-account", max_attempts=10)
    # Registrations on assembly pages: generous for a union office behind one address.
    app.state.register_throttle = Throttle(
        node.db, "register", max_attempts=30, window_seconds=3600
    )
    # The contact form: a few messages an hour per client address and per e-mail address.
    app.state.contact_guard = FormGuard(settings.secret_key, "contact")
    app.state.contact_address_throttle = Throttle(
        node.db, "contact-address", max_attempts=5, window_seconds=3600
    )
    app.state.contact_email_throttle = Throttle(
        node.db, "contact-email", max_attempts=3, window_seconds=3600
    )
    # Signatures of the call: a union office may sign for many people from one address.
    app.state.sign_throttle = Throttle(node.db, "sign", max_attempts=30, window_seconds=3600)
    app.state.sign_guard = FormGuard(settings.secret_key, "sign")
    # Plans for actions: a union office may send a few at once; a flood is refused politely.
    app.state.submit_address_throttle = Throttle(
        node.db, "submit-address", max_attempts=10, window_seconds=3600
    )
    app.state.submit_email_throttle = Throttle(
        node.db, "submit-email", max_attempts=5, window_seconds=3600
    )
    app.state.submit_guard = FormGuard(settings.secret_key, "submit")
    # Signing again re-sends the mail with the links (a signer who lost it asks that way): a
    # few an hour per address, so nobody can flood someone's mailbox by typing their address.
    app.state.sign_mail_throttle = Throttle(
        node.db, "sign-mail", max_attempts=3, window_seconds=3600
    )
    return app
