"""Public pages for people: the home page, which opens with the network's call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from actors import call, nearby, reports, signatures, solidarity_days
from actors.organizations import all_organizations
from web import home_call, i18n
from web.routes import common
from web.routes.reports import item as report_item

# Where the call's image is served from; the alert banner skips it (web/alert_banner.py).
IMAGE_PATH = "/media/call/"


def _(message: str) -> str:
    """Marks a label for the catalogs; the template translates it."""
    return message


@dataclass(frozen=True)
class WayIn:
    path: str
    label: str
    primary: bool = False


# The ways into the network the home page offers, in order. One is linked only once its page
# exists on the node, so a way whose page is still to be built is never a dead link: adding
# one (Submit your plans, Sign on, Contact) is a line here.
WAYS_IN = (
    WayIn("/near", _("Find an action near you"), primary=True),
    WayIn("/submit", _("Submit your plans")),
    WayIn("/sign", _("Sign on to the call")),
    WayIn("/contact", _("Contact us")),
    WayIn("/actions", _("See every upcoming action")),
)
# The radii the home page's "near you" box offers; /near takes any distance in its range.
RADII = (10, 25, 50, 100, 250, 500)


def ways_in(routes: list[BaseRoute]) -> list[WayIn]:
    paths = {getattr(route, "path", None) for route in routes}
    return [way for way in WAYS_IN if way.path in paths]


async def home(request: Request) -> Response:
    node = common.node(request)
    lang = i18n.language(request)
    async with node.db.read() as session:
        organizations = await all_organizations(session)
        next_day = next(iter(await solidarity_days.coming(session, limit=1)), None)
        network = await signatures.network_total(session)
        own_call = await call.text_html(session, lang)
        image = await call.image(session)
        latest_reports = await reports.latest(session, limit=3)
    # The alert banner has read the live alerts for this request already.
    live_alerts: list[dict[str, Any]] = getattr(request.state, "alerts", [])
    return request.app.state.templates.render(
        request,
        "home.html",
        {
            "call_html": own_call if own_call is not None else home_call.default_html(lang),
            "image": image
            and {
                "src": IMAGE_PATH + image.file_name,
                "alt": call.alt_for(image, lang, (i18n.DEFAULT,)),
            },
            "ways_in": ways_in(request.app.routes),
            "live_alerts": live_alerts,
            "radii": RADII,
            "default_radius": nearby.DEFAULT_RADIUS_KM,
            "items": await common.upcoming_items(node, limit=20, lang=lang),
            "network": network,
            "reports": [report_item(report, lang) for report in latest_reports],
            "next_day": next_day
            and {
                "day": next_day,
                "when": i18n.format_day(next_day.day, lang),
                "page": solidarity_days.page_path(next_day),
            },
            "organizations": [
                {"org": org, "actor": actor, "handle": f"@{org.name}@{node.settings.domain}"}
                for org, actor in organizations
            ],
        },
    )


async def about(request: Request) -> Response:
    return await home(request)


async def call_image(request: Request) -> Response:
    node = common.node(request)
    path = call.image_file(home_call.image_directory(node.settings), request.path_params["name"])
    if path is None:
        raise HTTPException(404, _("No such image."))
    # Named by its content: the same name is always the same bytes.
    return FileResponse(
        path,
        media_type=call.MEDIA_TYPES[path.suffix.lstrip(".")],
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


routes = [
    Route("/", home),
    Route("/about", about),
    Route(IMAGE_PATH + "{name}", call_image),
]
