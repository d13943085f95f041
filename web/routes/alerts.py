"""Solidarity alerts on the web: each alert's page (HTML, or its AS2 `Note` for servers), and
the list of alerts this node holds, its own and those relayed to it.

Our own alerts live at their id (`/alerts/{uuid}`, also what servers fetch); an alert raised
elsewhere is shown at `/alerts/remote/{n}`, with its origin, when it arrived and through whom.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors import alert_text, alert_to_as, alerts
from actors.models import Alert
from actors.organizations import actor_of
from actors.visibility import shown
from federation.as2 import with_context
from federation.db import utcnow
from web import feeds
from web.negotiation import ActivityJSONResponse, wants_activity_json
from web.routes import common


async def _alert(request: Request) -> Alert:
    node = common.node(request)
    async with node.db.read() as session:
        if "n" in request.path_params:
            alert = await alerts.received(session, request.path_params["n"])
        else:
            uri = f"{node.settings.base_url}/alerts/{request.path_params['id']}"
            alert = await alerts.by_uri(session, uri)
        if alert is not None and not shown(session, alert):
            alert = None  # from a blocked server: kept, but not shown
    if alert is None:
        raise HTTPException(404, "No such alert")
    return alert


async def alert_page(request: Request) -> Response:
    node = common.node(request)
    alert = await _alert(request)
    templates = request.app.state.templates
    if alert.deleted_at is not None:
        if wants_activity_json(request):
            gone = with_context(alert_to_as.ALERT_CONTEXT, alert_to_as.tombstone(alert))
            return ActivityJSONResponse(gone, status_code=410)
        return templates.render(request, "alert_gone.html", {"alert": alert}, status=410)
    if wants_activity_json(request):
        if not alert.is_local:
            raise HTTPException(404, "This alert is published by its own server")
        async with node.db.read() as session:
            actor = await actor_of(session, alert.organization_id)
        document = alert_to_as.note(node.settings.base_url, alert, actor)
        return ActivityJSONResponse(with_context(alert_to_as.ALERT_CONTEXT, document))
    return templates.render(request, "alert.html", {"alert": alert})


async def listing(request: Request) -> Response:
    async with common.node(request).db.read() as session:
        found = await alerts.every(session)
    now = utcnow()
    items: list[dict[str, Any]] = [
        {
            "alert": alert,
            "page": alerts.page_path(alert),
            "live": alert.deleted_at is None and alerts.is_live(alert, now),
        }
        for alert in found
    ]
    # Urgent first among the live ones, as in the banner; the rest as they came.
    live = sorted((i for i in items if i["live"]), key=lambda i: i["alert"].urgency != "urgent")
    past = [i for i in items if not i["live"]]
    return request.app.state.templates.render(request, "alerts.html", {"live": live, "past": past})


async def atom(request: Request) -> Response:
    """Every alert this node holds, its own and received, except withdrawn ones."""
    node = common.node(request)
    base = node.settings.base_url
    async with node.db.read() as session:
        found = [alert for alert in await alerts.every(session) if alert.deleted_at is None]
    items = [
        (
            alert,
            base + alerts.page_path(alert) if not alert.is_local else alert.uri,
            alert_text.where(alert),
            alert_text.asked(alert),
        )
        for alert in found
    ]
    body = feeds.alerts_atom(
        items,
        feed_id=f"{base}/alerts.atom",
        title=f"Solidarity alerts — {node.settings.node_name}",
        self_url=f"{base}/alerts.atom",
        alternate_url=f"{base}/alerts",
    )
    return Response(body, media_type=feeds.ATOM_TYPE)


routes = [
    Route("/alerts", listing),
    Route("/alerts.atom", atom),
    Route("/alerts/remote/{n:int}", alert_page),
    Route("/alerts/{id}", alert_page),
]
