"""Public pages for people."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors import solidarity_days
from actors.organizations import all_organizations
from web import i18n
from web.routes import common


async def home(request: Request) -> Response:
    node = common.node(request)
    lang = i18n.language(request)
    async with node.db.read() as session:
        organizations = await all_organizations(session)
        next_day = next(iter(await solidarity_days.coming(session, limit=1)), None)
    return request.app.state.templates.render(
        request,
        "home.html",
        {
            "items": await common.upcoming_items(node, limit=20, lang=lang),
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


routes = [Route("/", home), Route("/about", about)]
