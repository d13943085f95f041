"""Admin pages for solidarity alerts: raise, update, resolve, withdraw; and how received alerts
are passed on (relaying on or off; blocked servers are on /admin/blocks).

The form turns what the organizer types into an `alerts.AlertInput`; every rule stays in
`actors.alerts`.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import alert_relaying, alerts, countries
from actors.errors import Message, Problems, ValidationError
from actors.models import Alert, Organization
from federation.db import utcnow
from web import messages
from web.auth import admin_required
from web.forms import read_form, refuse_unread
from web.i18n import language
from web.routes import common
from web.runtime import Node

FLASH = "admin_alerts_notice"
TEXT_FIELDS = (
    "title",
    "text",
    "country",
    "region",
    "ask_text",
    "urgency",
    "links",
    "tags",
    "language",
    "expires",
    "org",
)


def _expiry(day: date) -> datetime:
    """An alert 'until 1 December' stays up through that whole day, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=UTC)


def _expiry_day(moment: datetime) -> str:
    return (moment.astimezone(UTC) - timedelta(seconds=1)).date().isoformat()


def parse(values: dict[str, str], asks: list[str]) -> tuple[alerts.AlertInput, Problems]:
    """The form's text as input for the domain, and what could not even be read."""
    problems = Problems()
    expires: datetime | None = None
    text = values["expires"].strip()
    if text:
        try:
            expires = _expiry(date.fromisoformat(text))
        except ValueError:
            problems.add("expires", Message.DATE_UNREADABLE, value=text)
    data = alerts.AlertInput(
        title=values["title"],
        text=values["text"],
        country=values["country"],
        region=values["region"] or None,
        ask_text=values["ask_text"],
        asks=asks,
        urgency=values["urgency"] or "normal",
        links=[line for line in values["links"].split("\n") if line.strip()],
        tags=[tag for tag in re.split(r"[\s,]+", values["tags"]) if tag],
        language=values["language"] or None,
        expires_at=expires,
    )
    return data, problems


def values_from(data: alerts.AlertInput) -> dict[str, str]:
    return {
        "title": data.title,
        "text": data.text,
        "country": data.country,
        "region": data.region or "",
        "ask_text": data.ask_text,
        "urgency": data.urgency,
        "links": "\n".join(data.links),
        "tags": " ".join(f"#{tag}" for tag in data.tags),
        "language": data.language or "",
        "expires": _expiry_day(data.expires_at) if data.expires_at else "",
        "org": "",
    }


def _render_form(
    request: Request,
    *,
    values: dict[str, str],
    asks: list[str],
    organizations: list[tuple[Organization, Any]],
    alert: Alert | None = None,
    error: ValidationError | None = None,
    status: int = 200,
) -> Response:
    lang = language(request)
    return request.app.state.templates.render(
        request,
        "admin/alert_form.html",
        {
            "values": values,
            "asks": asks,
            "alert": alert,
            "organizations": organizations,
            "problems": messages.beside_fields(error, lang),
            "ask_kinds": list(alerts.ASK_KINDS),
            "countries": common.with_current(countries.choices(lang), values["country"]),
            "languages": common.with_current(common.language_options(lang), values["language"]),
        },
        status=status,
    )


async def _own_alert(node: Node, alert_id: int) -> Alert:
    async with node.db.read() as session:
        alert, _organization, _actor = await alerts.own_alert(session, alert_id=alert_id)
    return alert


def _asks(form: Any) -> list[str]:
    return [value for value in form.getlist("asks") if isinstance(value, str)]


@admin_required
async def new_alert(request: Request) -> Response:
    node = common.node(request)
    organizations = await common.organizations(node)
    if request.method == "GET":
        values = dict.fromkeys(TEXT_FIELDS, "")
        values["urgency"] = "urgent"
        values["expires"] = _expiry_day(_expiry(utcnow().date() + alerts.DEFAULT_LIFETIME))
        return _render_form(request, values=values, asks=[], organizations=organizations)
    form = await read_form(request)
    values = {name: common.form_text(form, name) for name in TEXT_FIELDS}
    asks = _asks(form)
    data, unread = parse(values, asks)
    try:
        refuse_unread(unread, lambda: alerts.check(data))
        alert = await alerts.raise_alert(node.federation, data, org=values["org"] or None)
    except ValidationError as exc:
        return _render_form(
            request,
            values=values,
            asks=asks,
            organizations=organizations,
            error=exc,
            status=400,
        )
    request.session[FLASH] = {"what": "raised", "title": alert.title}
    return RedirectResponse("/admin/alerts", status_code=303)


@admin_required
async def edit_alert(request: Request) -> Response:
    node = common.node(request)
    alert = await _own_alert(node, request.path_params["id"])
    organizations = await common.organizations(node)
    if request.method == "GET":
        data = alerts.input_from(alert)
        return _render_form(
            request,
            values=values_from(data),
            asks=list(data.asks),
            organizations=organizations,
            alert=alert,
        )
    form = await read_form(request)
    values = {name: common.form_text(form, name) for name in TEXT_FIELDS}
    asks = _asks(form)
    data, unread = parse(values, asks)
    if data.expires_at is None and not unread:
        data = dataclasses.replace(data, expires_at=alert.expires_at)
    try:
        refuse_unread(unread, lambda: alerts.check(data))
        await alerts.update(node.federation, alert.uri, data)
    except ValidationError as exc:
        return _render_form(
            request,
            values=values,
            asks=asks,
            organizations=organizations,
            alert=alert,
            error=exc,
            status=400,
        )
    request.session[FLASH] = {"what": "updated", "title": data.title}
    return RedirectResponse("/admin/alerts", status_code=303)


@admin_required
async def resolve_alert(request: Request) -> Response:
    node = common.node(request)
    alert = await _own_alert(node, request.path_params["id"])
    await alerts.resolve_alert(node.federation, alert.uri)  # the 404 page if withdrawn meanwhile
    request.session[FLASH] = {"what": "resolved", "title": alert.title}
    return RedirectResponse("/admin/alerts", status_code=303)


@admin_required
async def withdraw_alert(request: Request) -> Response:
    node = common.node(request)
    alert = await _own_alert(node, request.path_params["id"])
    await alerts.withdraw(node.federation, alert.uri)
    request.session[FLASH] = {"what": "withdrawn", "title": alert.title}
    return RedirectResponse("/admin/alerts", status_code=303)


async def _render_list(request: Request) -> Response:
    node = common.node(request)
    async with node.db.read() as session:
        found = await alerts.every(session)
        relaying = await alert_relaying.relaying(session)
    now = utcnow()
    items: list[dict[str, Any]] = [
        {
            "alert": alert,
            "page": alerts.page_path(alert),
            "expired": alert.expires_at <= now,
        }
        for alert in found
    ]
    return request.app.state.templates.render(
        request,
        "admin/alerts.html",
        {
            "local": [item for item in items if item["alert"].is_local],
            "received": [item for item in items if not item["alert"].is_local],
            "relaying": relaying,
            "notice": request.session.pop(FLASH, None),
        },
    )


@admin_required
async def list_alerts(request: Request) -> Response:
    return await _render_list(request)


@admin_required
async def relaying_settings(request: Request) -> Response:
    node = common.node(request)
    form = await read_form(request)
    await alert_relaying.configure_relaying(node.db, relay=form.get("relay") == "on")
    request.session[FLASH] = {"what": "relaying", "title": ""}
    return RedirectResponse("/admin/alerts#relaying", status_code=303)


routes = [
    Route("/admin/alerts", list_alerts),
    Route("/admin/alerts/new", new_alert, methods=["GET", "POST"]),
    Route("/admin/alerts/relaying", relaying_settings, methods=["POST"]),
    Route("/admin/alerts/{id:int}/edit", edit_alert, methods=["GET", "POST"]),
    Route("/admin/alerts/{id:int}/resolve", resolve_alert, methods=["POST"]),
    Route("/admin/alerts/{id:int}/withdraw", withdraw_alert, methods=["POST"]),
]
