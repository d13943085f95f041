"""Admin pages for the node's own actions and assemblies: list, publish, edit, cancel, delete.

The form speaks the organizer's language (local date and time, a country, a time zone named by
country and city); it turns that into an `events.EventInput`, and every rule stays in `actors`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import countries, events, solidarity_days
from actors.errors import Message, Problems, ValidationError
from actors.models import Event, Organization
from actors.organizations import all_organizations
from federation.db import utcnow
from web import messages
from web.auth import admin_required
from web.forms import read_form, refuse_unread
from web.i18n import language
from web.labels import kind_label
from web.routes import common
from web.runtime import Node

# None preselected for a node's first action: a default would be wrong for most of the
# network's cities and slip through unnoticed; after that, the last action's zone is offered.
DEFAULT_TIMEZONE = ""
FLASH = "admin_events_notice"
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
# "38.7077, -9.1365" as copied from a map, pasted whole into the latitude box.
PASTED_PAIR = re.compile(r"^\s*(-?\d+\.\d+)\s*[,;\s]\s*(-?\d+\.\d+)\s*$")
TEXT_FIELDS = (
    "title",
    "kind",
    "org",
    "starts",
    "ends",
    "timezone",
    "place_name",
    "street_address",
    "postal_code",
    "city",
    "country",
    "latitude",
    "longitude",
    "online_url",
    "tags",
    "description",
    "contact",
    "language",
    "agenda",
    "sections",
    "capacity",
    "solidarity_day_uri",
)


def _number(text: str) -> float:
    text = text.strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # 38,7077 as many countries write it
    return float(text)


def parse(
    values: dict[str, str], category: events.Category, description_format: str
) -> tuple[events.EventInput, Problems]:
    """The form's text as input for the domain, and what could not even be read."""
    problems = Problems()

    def moment(name: str, missing: Message) -> datetime | None:
        text = values[name].strip()
        if not text:
            problems.add(name, missing)
            return None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            problems.add(name, Message.DATETIME_UNREADABLE)
            return None
        return parsed.replace(tzinfo=None, second=0, microsecond=0)

    starts = moment("starts", Message.START_MISSING)
    ends = moment("ends", Message.END_MISSING)

    latitude_text, longitude_text = values["latitude"], values["longitude"]
    pasted = PASTED_PAIR.match(latitude_text)
    if pasted and not longitude_text.strip():
        latitude_text, longitude_text = pasted.group(1), pasted.group(2)
        values["latitude"], values["longitude"] = latitude_text, longitude_text
    coordinates: dict[str, float | None] = {}
    for name, text, unreadable in (
        ("latitude", latitude_text, Message.LATITUDE_UNREADABLE),
        ("longitude", longitude_text, Message.LONGITUDE_UNREADABLE),
    ):
        coordinates[name] = None
        if text.strip():
            try:
                coordinates[name] = _number(text)
            except ValueError:
                problems.add(name, unreadable)

    capacity: int | None = None
    if category == "assembly" and values["capacity"].strip():
        try:
            capacity = int(values["capacity"].strip())
        except ValueError:
            problems.add("capacity", Message.CAPACITY_UNREADABLE)

    online_url = values["online_url"].strip()
    if online_url and "://" not in online_url and "." in online_url and " " not in online_url:
        online_url = "https://" + online_url  # people type meet.jit.si/...

    data = events.EventInput(
        title=values["title"],
        kind=values["kind"] or "other",
        # A stand-in start lets the domain check the other fields; its own problem is ours.
        starts=starts or datetime(2000, 1, 1),
        ends=ends,
        timezone=values["timezone"],
        place_name=values["place_name"],
        street_address=values["street_address"],
        city=values["city"],
        postal_code=values["postal_code"],
        country=values["country"] or None,
        latitude=coordinates["latitude"],
        longitude=coordinates["longitude"],
        online_url=online_url or None,
        tags=[tag for tag in re.split(r"[\s,]+", values["tags"]) if tag],
        description=values["description"].strip(),
        description_format="html" if description_format == "html" else "markdown",
        contact=values["contact"],
        language=values["language"] or None,
        agenda=values["agenda"],
        sections=[s.strip() for s in re.split(r"[,\n]", values["sections"]) if s.strip()],
        capacity=capacity,
        solidarity_day_uri=values.get("solidarity_day_uri") or None,
    )
    return data, problems


def values_from(data: events.EventInput) -> dict[str, str]:
    return {
        "title": data.title,
        "kind": data.kind,
        "org": "",
        "starts": data.starts.strftime(DATETIME_LOCAL),
        "ends": data.ends.strftime(DATETIME_LOCAL) if data.ends else "",
        "timezone": data.timezone,
        "place_name": data.place_name or "",
        "street_address": data.street_address or "",
        "postal_code": data.postal_code or "",
        "city": data.city or "",
        "country": data.country or "",
        "latitude": "" if data.latitude is None else str(data.latitude),
        "longitude": "" if data.longitude is None else str(data.longitude),
        "online_url": data.online_url or "",
        "tags": " ".join(f"#{tag}" for tag in data.tags),
        "description": data.description,
        "contact": data.contact or "",
        "language": data.language or "",
        "agenda": data.agenda or "",
        "sections": ", ".join(data.sections),
        "capacity": "" if data.capacity is None else str(data.capacity),
        "solidarity_day_uri": data.solidarity_day_uri or "",
    }


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
