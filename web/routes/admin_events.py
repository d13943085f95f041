"""Admin pages for the node's own actions and assemblies: list, publish, edit, cancel, delete.

The form speaks the organizer's language (local date and time, a country, a time zone named by
country and city); it turns that into an `events.EventInput`, and every rule stays in `actors`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import countries, events, solidarity_days
from actors.errors import Problems, ValidationError
from actors.models import Event, Organization
from actors.organizations import all_organizations
from federation.db import utcnow
from web import messages
from web.auth import admin_required
from web.event_form import TEXT_FIELDS, parse, values_from
from web.forms import read_form, refuse_unread
from web.i18n import language
from web.labels import kind_label
from web.routes import common
from web.runtime import Node

# None preselected for a node's first action: a default would be wrong for most of the
# network's cities and slip through unnoticed; after that, the last action's zone is offered.
DEFAULT_TIMEZONE = ""
FLASH = "admin_events_notice"
async def _last_used(node: Node) -> dict[str, str]:
    """The zone, country and language of the node's latest event: most come from one place."""
    async with node.db.read() as session:
        event = await events.latest_own(session)
    if event is None:
        return {"timezone": DEFAULT_TIMEZONE, "country": "", "language": ""}
    return {
        "timezone": event.timezone,
        "country": event.country or "",
        "language": event.language or "",
    }


async def _own_event(node: Node, event_id: int) -> tuple[Event, Organization]:
    async with node.db.read() as session:
        event, organization, _actor = await events.own_event(session, event_id=event_id)
    return event, organization


def _render_form(
    request: Request,
    *,
    category: str,
    values: dict[str, str],
    organizations: list[tuple[Organization, Any]],
    event: Event | None = None,
    organization: Organization | None = None,
    error: ValidationError | None = None,
    status: int = 200,
    days: list[tuple[str, str]] | None = None,
) -> Response:
    lang = language(request)
    return request.app.state.templates.render(
        request,
        "admin/event_form.html",
        {
            "category": category,
            "values": values,
            "event": event,
            "organization": organization,
            "organizations": organizations,
            "problems": messages.beside_fields(error, lang),
            "kinds": [(kind, kind_label(kind, lang)) for kind in events.KINDS],
            "countries": common.with_current(countries.choices(lang), values["country"]),
            "timezones": common.with_current(common.timezone_options(lang), values["timezone"]),
            "languages": common.with_current(common.language_options(lang), values["language"]),
            "days": common.with_current(days or [], values.get("solidarity_day_uri", "")),
        },
        status=status,
    )


async def _day_options(node: Node) -> list[tuple[str, str]]:
    """The coming solidarity days (own and followed) an event can be attached to."""
    async with node.db.read() as session:
        days = await solidarity_days.coming(session)
    return [(day.uri, f"{day.day.isoformat()} — {day.theme} (#{day.hashtag})") for day in days]


def _public_path(event: Event) -> str:
    return urlsplit(event.url or event.uri).path or "/"


@admin_required
async def new_event(request: Request) -> Response:
    node = common.node(request)
    organizations = await common.organizations(node)
    days = await _day_options(node)
    if request.method == "GET":
        category = events.category_from(request.query_params.get("category", "action"))
        values = dict.fromkeys(TEXT_FIELDS, "")
        values.update(await _last_used(node))
        values["kind"] = "demonstration" if category == "action" else "other"
        return _render_form(
            request, category=category, values=values, organizations=organizations, days=days
        )
    form = await read_form(request)
    category = events.category_from(str(form.get("category", "")))
    values = {name: common.form_text(form, name) for name in TEXT_FIELDS}
    data, unread = parse(values, category, "markdown")
    org = values["org"] or None
    try:
        _refuse_unread(unread, data, category)
        event = await events.publish(node.federation, data, category=category, org=org)
    except ValidationError as exc:
        return _render_form(
            request,
            category=category,
            values=values,
            organizations=organizations,
            error=exc,
            status=400,
            days=days,
        )
    return RedirectResponse(_public_path(event), status_code=303)


def _refuse_unread(unread: Problems, data: events.EventInput, category: events.Category) -> None:
    # An end measured against the stand-in for an unreadable start means nothing.
    ignore = ("ends",) if "starts" in unread else ()
    refuse_unread(unread, lambda: events.check(data, category), ignore=ignore)


@admin_required
async def edit_event(request: Request) -> Response:
    node = common.node(request)
    event, organization = await _own_event(node, request.path_params["id"])
    organizations = await common.organizations(node)
    context: dict[str, Any] = {
        "category": event.category,
        "event": event,
        "organization": organization,
        "organizations": organizations,
        "days": await _day_options(node),
    }
    if request.method == "GET":
        return _render_form(request, values=values_from(events.input_from(event)), **context)
    form = await read_form(request)
    values = {name: common.form_text(form, name) for name in TEXT_FIELDS}
    category = events.category_from(event.category)
    data, unread = parse(values, category, event.description_format)
    try:
        _refuse_unread(unread, data, category)
        await events.edit(node.federation, event.uri, data)
    except ValidationError as exc:
        return _render_form(request, values=values, error=exc, status=400, **context)
    return RedirectResponse(_public_path(event), status_code=303)


@admin_required
async def cancel_event(request: Request) -> Response:
    node = common.node(request)
    event, _organization = await _own_event(node, request.path_params["id"])
    await events.cancel(node.federation, event.uri)  # the 404 page if deleted meanwhile
    request.session[FLASH] = {"what": "cancelled", "title": event.title}
    return RedirectResponse("/admin/events", status_code=303)


@admin_required
async def delete_event(request: Request) -> Response:
    node = common.node(request)
    event, _organization = await _own_event(node, request.path_params["id"])
    await events.delete(node.federation, event.uri)
    request.session[FLASH] = {"what": "deleted", "title": event.title}
    return RedirectResponse("/admin/events", status_code=303)


@admin_required
async def list_events(request: Request) -> Response:
    node = common.node(request)
    async with node.db.read() as session:
        rows = await events.own_events(session)
        organizations = await all_organizations(session)
    now = utcnow()
    items = [
        {
            "event": event,
            "organization": organization,
            "view": common.event_view(event, language(request)),
            "over": events.is_over(event, now),
            "path": _public_path(event),
        }
        for event, organization in rows
    ]
    upcoming = [item for item in items if not item["over"]]
    past = [item for item in reversed(items) if item["over"]]
    return request.app.state.templates.render(
        request,
        "admin/events.html",
        {
            "upcoming": upcoming,
            "past": past,
            "several_organizations": len(organizations) > 1,
            "notice": request.session.pop(FLASH, None),
        },
    )


routes = [
    Route("/admin/events", list_events),
    Route("/admin/events/new", new_event, methods=["GET", "POST"]),
    Route("/admin/events/{id:int}/edit", edit_event, methods=["GET", "POST"]),
    Route("/admin/events/{id:int}/cancel", cancel_event, methods=["POST"]),
    Route("/admin/events/{id:int}/delete", delete_event, methods=["POST"]),
]
