"""Find an action near you: `/near?place=Lisboa&radius=50`, a GET form whose address is the
search, so it can be shared, bookmarked and used without JavaScript. The same search, with the
same query string, as JSON for other tools (`/near.json`) and as a calendar (`/near.ics`)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors import countries, nearby, places, solidarity_days
from actors.errors import ValidationError
from actors.models import Event
from actors.organizations import all_organizations
from actors.urls import http_url
from web import feeds, i18n, messages
from web.routes import common


def _(message: str) -> str:
    """Marks a word for the catalogs (`pybabel extract`); it is translated when shown."""
    return message


CALENDAR_NAME = _("Within %(radius)s km of %(place)s")
# The page says it in its template; JSON and the calendar feed say it in these words.
PREPARING = _(
    "This node is preparing its list of the world's towns and cities, which it does once. "
    "Please search again in a few seconds."
)
CALENDAR_NEAR_YOU = _("Within %(radius)s km of your position")

# The fields of the form, as the query string names them; `at` picks one of several places.
FIELDS = ("place", "country", "radius", "lat", "lon", "kind", "from", "to", "day", "online")


def distance_text(km: float, lang: str) -> str:
    """ "3,4 km" in German, "120 km": tenths only where they matter."""
    shown = format_decimal(round(km, 1) if km < 10 else round(km), locale=i18n.locale(lang))
    return f"{shown} km"


def place_label(candidate: places.Candidate, lang: str, called: str | None = None) -> str:
    country = countries.name(candidate.country, lang)
    return ", ".join(nearby.label_parts(candidate, country, called))


def _query(request: Request) -> nearby.Query:
    params = request.query_params
    return nearby.check(
        params.get("place"),
        params.get("radius"),
        country=params.get("country"),
        place_id=params.get("at"),
        lat=params.get("lat"),
        lon=params.get("lon"),
        kind=params.get("kind"),
        starts_from=params.get("from"),
        starts_until=params.get("to"),
        day=params.get("day"),
        online=params.get("online"),
    )


async def _coming_days(request: Request, lang: str) -> list[tuple[str, str]]:
    """(date, label) of the coming solidarity days, one per date, for the day filter."""
    async with common.node(request).db.read() as session:
        days = await solidarity_days.coming(session, limit=24)
    seen: dict[str, str] = {}
    for day in days:
        seen.setdefault(day.day.isoformat(), f"{i18n.format_day(day.day, lang)} — {day.theme}")
    return list(seen.items())


async def near_page(request: Request) -> Response:
    node = common.node(request)
    lang = i18n.language(request)
    params = request.query_params
    asked = any(name in params for name in ("place", "lat", "lon"))
    context: dict[str, Any] = {
        "place": params.get("place", ""),
        "radius": params.get("radius", "") or str(nearby.DEFAULT_RADIUS_KM),
        "country": (params.get("country") or "").upper(),
        "countries": countries.choices(lang),
        "min_radius": nearby.MIN_RADIUS_KM,
        "max_radius": nearby.MAX_RADIUS_KM,
        "kind": params.get("kind", ""),
        "date_from": params.get("from", ""),
        "date_to": params.get("to", ""),
        "day": params.get("day", ""),
        "days": await _coming_days(request, lang),
        "online": params.get("online", "") or "include",
        "date_min": nearby.date_range()[0].isoformat(),
        "date_max": nearby.date_range()[1].isoformat(),
        "lat": params.get("lat", ""),
        "lon": params.get("lon", ""),
        "problems": {},
        "found": None,
        "preparing": False,
        "credit_url": places.CREDIT_URL,
        "licence_url": places.CREDIT_LICENCE_URL,
    }
    status = 200
    if asked:
        try:
            query = _query(request)
            found = await nearby.search(node.db, query, lang=lang)
        except ValidationError as error:
            context["problems"] = messages.beside_fields(error, lang)
            status = 400
        except places.NotReady:
            context["preparing"] = True
            status = 503
        else:

            def card(event: Event, km: float | None) -> dict[str, Any]:
                return {
                    "event": event,
                    "view": common.event_view(event, lang),
                    "distance": distance_text(km, lang) if km is not None else None,
                }

            context["found"] = {
                "label": place_label(found.place, lang, found.called) if found.place else None,
                "radius": query.radius_km,
                "results": [card(event, km) for event, km in found.items],
                "more": found.more,
                "limit": nearby.RESULT_LIMIT,
                "online": [card(event, None) for event in found.online],
                "more_online": found.more_online,
                "online_limit": nearby.ONLINE_LIMIT,
                "others": [
                    {"label": place_label(other, lang), "id": other.id} for other in found.others
                ],
                # Other places of the name keep every filter of this search.
                "kept": {k: v for k, v in params.items() if k in FIELDS and v and k != "place"},
                "feeds": str(request.url.query),
            }
    response = request.app.state.templates.render(request, "near.html", context, status=status)
    if status == 503:
        response.headers["Retry-After"] = str(places.RETRY_AFTER_SECONDS)
    return response


def _iso(event: Event, moment: Any) -> str | None:
    return moment.astimezone(ZoneInfo(event.timezone)).isoformat() if moment else None


def _result(event: Event, km: float | None, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": event.uri,
        "url": http_url(event.url) or event.uri,
        "title": event.title,
        "kind": event.category,
        "start": _iso(event, event.starts_at),
        "end": _iso(event, event.ends_at),
        "timezone": event.timezone,
        "organization": feeds.organizer_name(event, names),
        "place": event.place_name or event.city,
        "country": event.country,
        "distance": round(km, 1) if km is not None else None,
        "online": bool(event.online_url),
        "online_url": http_url(event.online_url),
        "cancelled": event.status == "cancelled",
    }


async def _organization_names(request: Request) -> dict[int, str]:
    async with common.node(request).db.read() as session:
        return {org.id: org.display_name for org, _actor in await all_organizations(session)}


async def near_json(request: Request) -> Response:
    """The search for other tools; its shape is in the README ("Find an action near you")."""
    node = common.node(request)
    lang = i18n.language(request)
    try:
        query = _query(request)
        found = await nearby.search(node.db, query, lang=lang)
    except ValidationError as error:
        return JSONResponse({"errors": messages.beside_fields(error, lang)}, status_code=400)
    except places.NotReady:
        return JSONResponse(
            {"errors": {"place": i18n.translate(PREPARING, lang)}},
            status_code=503,
            headers={"Retry-After": str(places.RETRY_AFTER_SECONDS)},
        )
    names = await _organization_names(request)
    place: dict[str, Any] = {"latitude": found.latitude, "longitude": found.longitude}
    if found.place is not None:
        # For tools: the data's own name, whatever the visitor typed.
        place |= {"name": place_label(found.place, lang), "geonames_id": found.place.id}
    else:
        place |= {"name": None, "geonames_id": None}
    return JSONResponse(
        {
            "place": place,
            "radius": query.radius_km,
            "filters": {
                "kind": query.kind,
                "from": query.starts_from.isoformat() if query.starts_from else None,
                "to": query.starts_until.isoformat() if query.starts_until else None,
                "day": query.day.isoformat() if query.day else None,
                "online": query.online,
            },
            "results": [_result(event, km, names) for event, km in found.items],
            "more": found.more,
            "online_anywhere": [_result(event, None, names) for event in found.online],
            "more_online": found.more_online,
            "other_places": [
                {"name": place_label(other, lang), "geonames_id": other.id}
                for other in found.others
            ],
        }
    )


async def near_ics(request: Request) -> Response:
    """The results as a calendar to subscribe to: the address keeps the search."""
    node = common.node(request)
    lang = i18n.language(request)
    try:
        query = _query(request)
        found = await nearby.search(node.db, query, lang=lang)
    except ValidationError as error:
        return Response(messages.sentences(error, lang), status_code=400, media_type="text/plain")
    except places.NotReady:
        return Response(
            i18n.translate(PREPARING, lang),
            status_code=503,
            media_type="text/plain",
            headers={"Retry-After": str(places.RETRY_AFTER_SECONDS)},
        )
    names = await _organization_names(request)
    items = [
        feeds.FeedEvent(event, feeds.organizer_name(event, names), event.origin_actor_uri)
        for event in [event for event, _km in found.items] + found.online
    ]
    if found.place is not None:
        name = i18n.translate(CALENDAR_NAME, lang) % {
            "radius": query.radius_km,
            "place": place_label(found.place, lang, found.called),
        }
    else:
        name = i18n.translate(CALENDAR_NEAR_YOU, lang) % {"radius": query.radius_km}
    url = f"{node.settings.base_url}/near.ics?{request.url.query}"
    return Response(
        feeds.calendar(items, name=f"{name} — {node.settings.node_name}", uid=url),
        media_type=feeds.CALENDAR_TYPE,
        headers={"Content-Disposition": 'inline; filename="near.ics"'},
    )


routes = [
    Route("/near.json", near_json),
    Route("/near.ics", near_ics),
    Route("/near", near_page),
]
