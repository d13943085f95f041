"""Find an action near you: `/near?place=Lisboa&radius=50`, a GET form whose address is the
search, so it can be shared, bookmarked and used without JavaScript."""

from __future__ import annotations

from typing import Any

from babel.numbers import format_decimal
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors import countries, nearby, places
from actors.errors import ValidationError
from web import i18n, messages
from web.routes import common


def distance_text(km: float, lang: str) -> str:
    """"3,4 km" in German, "120 km": tenths only where they matter."""
    shown = format_decimal(round(km, 1) if km < 10 else round(km), locale=i18n.locale(lang))
    return f"{shown} km"


def place_label(candidate: places.Candidate, lang: str) -> str:
    return ", ".join(nearby.label_parts(candidate, countries.name(candidate.country, lang)))


async def near_page(request: Request) -> Response:
    node = common.node(request)
    lang = i18n.language(request)
    params = request.query_params
    asked = "place" in params
    context: dict[str, Any] = {
        "place": params.get("place", ""),
        "radius": params.get("radius", "") or str(nearby.DEFAULT_RADIUS_KM),
        "country": (params.get("country") or "").upper(),
        "countries": countries.choices(lang),
        "min_radius": nearby.MIN_RADIUS_KM,
        "max_radius": nearby.MAX_RADIUS_KM,
        "problems": {},
        "found": None,
        "preparing": False,
        "credit_url": places.CREDIT_URL,
        "licence_url": places.CREDIT_LICENCE_URL,
    }
    status = 200
    if asked:
        try:
            query = nearby.check(
                params.get("place"),
                params.get("radius"),
                country=params.get("country"),
                place_id=params.get("at"),
            )
            found = await nearby.search(node.db, query, lang=lang)
        except ValidationError as error:
            context["problems"] = messages.beside_fields(error, lang)
            status = 400
        except places.NotReady:
            context["preparing"] = True
            status = 503
        else:
            context["found"] = {
                "label": place_label(found.place, lang),
                "radius": query.radius_km,
                "results": [
                    {
                        "event": event,
                        "view": common.event_view(event, lang),
                        "distance": distance_text(km, lang),
                    }
                    for event, km in found.items
                ],
                "others": [
                    {"label": place_label(other, lang), "id": other.id} for other in found.others
                ],
            }
    response = request.app.state.templates.render(request, "near.html", context, status=status)
    if status == 503:
        response.headers["Retry-After"] = str(places.RETRY_AFTER_SECONDS)
    return response


routes = [Route("/near", near_page)]
