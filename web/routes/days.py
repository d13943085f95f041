"""Monthly Workers Solidarity Days on the web: the list, each day's page with every action of
the day this node knows, its AS2 document, and an iCalendar feed of the day and its actions.

Our own days live at their id (`/days/{uuid}`, also what servers fetch); a day declared
elsewhere is shown here at `/days/remote/{n}`, with the actions this node knows of.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors import day_text, day_to_as, solidarity_days
from actors.models import SolidarityDay
from actors.organizations import actor_of, all_organizations
from actors.visibility import shown
from federation.as2 import with_context
from web import feeds, i18n
from web.negotiation import ActivityJSONResponse, wants_activity_json
from web.routes import common


async def _day(request: Request) -> SolidarityDay:
    node = common.node(request)
    async with node.db.read() as session:
        if "n" in request.path_params:
            day = await solidarity_days.received(session, request.path_params["n"])
        else:
            uri = f"{node.settings.base_url}/days/{request.path_params['id']}"
            day = await solidarity_days.by_uri(session, uri)
        if day is not None and not shown(session, day):
            day = None  # from a blocked server: kept, but not shown
    if day is None:
        raise HTTPException(404, "No such solidarity day")
    return day


async def day_page(request: Request) -> Response:
    node = common.node(request)
    day = await _day(request)
    templates = request.app.state.templates
    if day.deleted_at is not None:
        if wants_activity_json(request):
            gone = with_context(day_to_as.DAY_CONTEXT, day_to_as.tombstone(day))
            return ActivityJSONResponse(gone, status_code=410)
        return templates.render(request, "day_gone.html", {"day": day}, status=410)
    if wants_activity_json(request):
        if not day.is_local:
            raise HTTPException(404, "This day is published by its own server")
        async with node.db.read() as session:
            actor = await actor_of(session, day.organization_id)
        document = day_to_as.day_object(node.settings.base_url, day, actor)
        return ActivityJSONResponse(with_context(day_to_as.DAY_CONTEXT, document))
    async with node.db.read() as session:
        found = await solidarity_days.actions_of(session, day)
    summary = solidarity_days.grouped(found)
    lang = i18n.language(request)
    groups = [
        {
            "country": i18n.country_name(code, lang) if code else None,
            "items": [{"event": event, "view": common.event_view(event, lang)} for event in events],
        }
        for code, events in summary["groups"]
    ]
    return templates.render(
        request,
        "day.html",
        {
            "day": day,
            "when": i18n.format_day(day.day, lang),
            "groups": groups,
            "counts": summary,
            "page": solidarity_days.page_path(day),
        },
    )


async def day_ics(request: Request) -> Response:
    node = common.node(request)
    day = await _day(request)
    if day.deleted_at is not None:
        raise HTTPException(410, "This solidarity day was withdrawn")
    async with node.db.read() as session:
        found = await solidarity_days.actions_of(session, day)
        names = {org.id: org.display_name for org, _actor in await all_organizations(session)}
    items = [
        feeds.FeedEvent(event, feeds.organizer_name(event, names), event.origin_actor_uri)
        for event in found
    ]
    url = solidarity_days.page_url(day, node.settings.base_url)
    name = f"{day.theme} — {day_text.when(day)}"
    the_day = feeds.FeedDay(day, url, feeds.day_organizer_name(day, names))
    return Response(
        feeds.calendar(items, name=name, uid=f"{url}.ics", days=[the_day]),
        media_type=feeds.CALENDAR_TYPE,
        headers={"Content-Disposition": f'inline; filename="{feeds.filename(day.theme, "day")}"'},
    )


async def listing(request: Request) -> Response:
    node = common.node(request)
    lang = i18n.language(request)
    async with node.db.read() as session:
        days = await solidarity_days.coming(session, limit=200)
    return request.app.state.templates.render(
        request,
        "days.html",
        {
            "days": [
                {
                    "day": day,
                    "when": i18n.format_day(day.day, lang),
                    "page": solidarity_days.page_path(day),
                }
                for day in days
            ]
        },
    )


routes = [
    Route("/days", listing),
    Route("/days/remote/{n:int}.ics", day_ics),
    Route("/days/remote/{n:int}", day_page),
    Route("/days/{id}.ics", day_ics),
    Route("/days/{id}", day_page),
]
