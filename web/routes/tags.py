"""A hashtag's page (`/tags/{tag}`, where every hashtag link of this node points) and its Atom
feed: what the node holds with that tag, its own and received."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors import alerts, hashtags, solidarity_days, tags
from actors.organizations import all_organizations
from web import feeds, i18n
from web.routes import common
from web.routes.reports import item as report_item


def _tag(request: Request) -> str:
    tag = hashtags.normalize(request.path_params["tag"])
    if tag is None:
        raise HTTPException(404, "Not a hashtag")
    return tag


async def tag_page(request: Request) -> Response:
    node = common.node(request)
    tag = _tag(request)
    lang = i18n.language(request)
    async with node.db.read() as session:
        found = await tags.tagged(session, tag)

    def days(items):
        return [
            {"day": d, "when": i18n.format_day(d.day, lang), "page": solidarity_days.page_path(d)}
            for d in items
        ]

    def events(items):
        return [{"event": e, "view": common.event_view(e, lang)} for e in items]

    def alert_items(items):
        return [{"alert": a, "page": alerts.page_path(a)} for a in items]

    return request.app.state.templates.render(
        request,
        "tag.html",
        {
            "tag": tag,
            "feed": f"/tags/{tag.lower()}.atom",
            "empty": found.empty,
            "coming_events": events(found.coming_events),
            "past_events": events(found.past_events),
            "coming_days": days(found.coming_days),
            "past_days": days(found.past_days),
            "live_alerts": alert_items(found.live_alerts),
            "past_alerts": alert_items(found.past_alerts),
            "reports": [report_item(r, lang) for r in found.reports],
        },
    )


async def tag_atom(request: Request) -> Response:
    """The actions and assemblies with the tag, coming then past, as /actions.atom has them."""
    node = common.node(request)
    tag = _tag(request)
    async with node.db.read() as session:
        found = await tags.tagged(session, tag)
        names = {org.id: org.display_name for org, _actor in await all_organizations(session)}
    items = [
        feeds.FeedEvent(event, feeds.organizer_name(event, names), event.origin_actor_uri)
        for event in [*found.coming_events, *found.past_events]
    ]
    base = node.settings.base_url
    url = f"{base}/tags/{tag.lower()}.atom"
    body = feeds.atom(
        items,
        feed_id=url,
        title=f"#{tag}",
        self_url=url,
        alternate_url=f"{base}/tags/{tag.lower()}",
    )
    return Response(body, media_type=feeds.ATOM_TYPE)


routes = [
    Route("/tags/{tag}.atom", tag_atom),  # before /tags/{tag}, which would take "x.atom"
    Route("/tags/{tag}", tag_page),
]
