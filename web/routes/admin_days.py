"""Admin pages for Monthly Workers Solidarity Days: list, declare, edit, delete.

The form turns what the organizer types into a `solidarity_days.DayInput`; every rule stays in
`actors.solidarity_days`, which also sends each change to the organization's followers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import solidarity_days
from actors.errors import Message, Problems, ValidationError
from actors.models import Organization, SolidarityDay
from actors.organizations import all_organizations
from web import messages
from web.auth import admin_required
from web.forms import read_form, refuse_unread
from web.i18n import language
from web.routes import common
from web.runtime import Node

FLASH = "admin_days_notice"
TEXT_FIELDS = ("date", "theme", "slogan", "hashtag", "description", "org")


def when(day: date, lang: str = "en") -> str:
    """ "Monday, 8 March 2027": the date as people say it, with the weekday."""
    return format_date(day, format="full", locale=lang)


def parse(values: dict[str, str]) -> tuple[solidarity_days.DayInput, Problems]:
    """The form's text as input for the domain, and what could not even be read.

    A date that cannot be read goes to the domain as none at all, so that it reports the
    missing date together with everything else that is wrong, and stores nothing.
    """
    problems = Problems()
    day: date | None = None
    text = values["date"].strip()
    if text:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            problems.add("date", Message.DATE_UNREADABLE, value=text)
    data = solidarity_days.DayInput(
        day=day,  # type: ignore[arg-type]  # None: the domain reports it
        theme=values["theme"],
        slogan=values["slogan"],
        hashtag=values["hashtag"],
        description=values["description"].strip(),
    )
    return data, problems


def values_from(data: solidarity_days.DayInput) -> dict[str, str]:
    return {
        "date": data.day.isoformat(),
        "theme": data.theme,
        "slogan": data.slogan,
        "hashtag": f"#{data.hashtag}",
        "description": data.description,
        "org": "",
    }


async def _own_day(node: Node, day_id: int) -> tuple[SolidarityDay, Organization]:
    async with node.db.read() as session:
        day, organization, _actor = await solidarity_days.own_day(session, day_id=day_id)
    return day, organization


def _render_form(
    request: Request,
    *,
    values: dict[str, str],
    organizations: list[tuple[Organization, Any]],
    day: SolidarityDay | None = None,
    organization: Organization | None = None,
    error: ValidationError | None = None,
    status: int = 200,
) -> Response:
    return request.app.state.templates.render(
        request,
        "admin/day_form.html",
        {
            "values": values,
            "day": day,
            "page": solidarity_days.page_path(day) if day is not None else None,
            "organization": organization,
            "organizations": organizations,
            "problems": messages.beside_fields(error, language(request)),
        },
        status=status,
    )


@admin_required
async def new_day(request: Request) -> Response:
    node = common.node(request)
    organizations = await common.organizations(node)
    if request.method == "GET":
        values = dict.fromkeys(TEXT_FIELDS, "")
        return _render_form(request, values=values, organizations=organizations)
    form = await read_form(request)
    values = {name: common.form_text(form, name) for name in TEXT_FIELDS}
    data, unread = parse(values)
    try:
        refuse_unread(unread, lambda: solidarity_days.check(data))
        day = await solidarity_days.declare(node.federation, data, org=values["org"] or None)
    except ValidationError as exc:
        return _render_form(
            request, values=values, organizations=organizations, error=exc, status=400
        )
    request.session[FLASH] = {
        "what": "declared",
        "theme": day.theme,
        "page": solidarity_days.page_path(day),
    }
    return RedirectResponse("/admin/days", status_code=303)


@admin_required
async def edit_day(request: Request) -> Response:
    node = common.node(request)
    day, organization = await _own_day(node, request.path_params["id"])
    context: dict[str, Any] = {
        "day": day,
        "organization": organization,
        "organizations": await common.organizations(node),
    }
    if request.method == "GET":
        values = values_from(solidarity_days.input_from(day))
        return _render_form(request, values=values, **context)
    form = await read_form(request)
    values = {name: common.form_text(form, name) for name in TEXT_FIELDS}
    data, unread = parse(values)
    try:
        refuse_unread(unread, lambda: solidarity_days.check(data))
        changed = await solidarity_days.edit(node.federation, day.uri, data)
    except ValidationError as exc:
        return _render_form(request, values=values, error=exc, status=400, **context)
    request.session[FLASH] = {
        "what": "updated",
        "theme": changed.theme,
        "page": solidarity_days.page_path(day),
    }
    return RedirectResponse("/admin/days", status_code=303)


@admin_required
async def delete_day(request: Request) -> Response:
    node = common.node(request)
    day, _organization = await _own_day(node, request.path_params["id"])
    await solidarity_days.delete(node.federation, day.uri)  # the 404 page if deleted meanwhile
    request.session[FLASH] = {"what": "deleted", "theme": day.theme, "page": ""}
    return RedirectResponse("/admin/days", status_code=303)


def _item(
    day: SolidarityDay, lang: str, organization: Organization | None = None
) -> dict[str, Any]:
    return {
        "day": day,
        "when": when(day.day, lang),
        "page": solidarity_days.page_path(day),
        "organization": organization,
    }


@admin_required
async def list_days(request: Request) -> Response:
    node = common.node(request)
    async with node.db.read() as session:
        rows = await solidarity_days.own_days(session)
        known = await solidarity_days.coming(session)
        organizations = await all_organizations(session)
    today = solidarity_days.today_anywhere()
    lang = language(request)
    items = [_item(day, lang, organization) for day, organization in rows]
    return request.app.state.templates.render(
        request,
        "admin/days.html",
        {
            "coming": [item for item in items if item["day"].day >= today],
            "past": [item for item in reversed(items) if item["day"].day < today],
            "received": [_item(day, lang) for day in known if not day.is_local],
            "several_organizations": len(organizations) > 1,
            "notice": request.session.pop(FLASH, None),
        },
    )


routes = [
    Route("/admin/days", list_days),
    Route("/admin/days/new", new_day, methods=["GET", "POST"]),
    Route("/admin/days/{id:int}/edit", edit_day, methods=["GET", "POST"]),
    Route("/admin/days/{id:int}/delete", delete_day, methods=["POST"]),
]
