"""Calendar (.ics) and Atom feeds of actions and assemblies: one event, one organization's, all.

These routes must come before `/actions/{id}` in the app's list, which would take "x.ics" as
an id.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors import events, solidarity_days
from actors.events import event_path
from actors.models import Organization
from actors.organizations import all_organizations, by_name
from web import feeds
from web.routes import common
from web.runtime import Node

# Subscribed calendars and feed readers get every upcoming event the node knows, up to this.
FEED_LIMIT = 500


def _ics(body: bytes, name: str) -> Response:
    return Response(
        body,
        media_type=feeds.CALENDAR_TYPE,
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


def _atom(body: bytes) -> Response:
    return Response(body, media_type=feeds.ATOM_TYPE)


async def _items(node: Node, organization_id: int | None = None) -> list[feeds.FeedEvent]:
    found = await common.upcoming_items(node, organization_id=organization_id, limit=FEED_LIMIT)
    async with node.db.read() as session:
        names = {org.id: org.display_name for org, _actor in await all_organizations(session)}
    return [
        feeds.FeedEvent(
            event=row["event"],
            organizer_name=feeds.organizer_name(row["event"], names),
            organizer_uri=row["event"].origin_actor_uri,
        )
        for row in found
    ]


async def _organization(node: Node, name: str) -> Organization:
    async with node.db.read() as session:
        found = await by_name(session, name)
    if found is None:
        raise HTTPException(404, "No such organization")
    return found[0]


async def event_ics(request: Request) -> Response:
    node = common.node(request)
    category = "assembly" if request.url.path.startswith("/assemblies/") else "action"
    event_id = request.path_params["id"]
    uri = f"{node.settings.base_url}/{event_path(category)}/{event_id}"
    async with node.db.read() as session:
        row = await events.with_organizer(session, uri)
    if row is None:
        raise HTTPException(404, "No such action or assembly")
    event, organization, _actor = row
    if event.deleted_at is not None:
        raise HTTPException(410, "This action or assembly was withdrawn")
    item = feeds.FeedEvent(event, organization.display_name, event.origin_actor_uri)
    return _ics(
        feeds.calendar([item], name=event.title, uid=f"{uri}.ics"),
        feeds.filename(event.title, event_id),
    )


async def _days(node: Node) -> list[feeds.FeedDay]:
    """The coming solidarity days, as all-day entries beside the events."""
    async with node.db.read() as session:
        days = await solidarity_days.coming(session, limit=FEED_LIMIT)
        names = {org.id: org.display_name for org, _actor in await all_organizations(session)}
    base = node.settings.base_url
    return [
        feeds.FeedDay(
            day, solidarity_days.page_url(day, base), feeds.day_organizer_name(day, names)
        )
        for day in days
    ]


async def node_ics(request: Request) -> Response:
    node = common.node(request)
    body = feeds.calendar(
        await _items(node),
        name=node.settings.node_name,
        uid=f"{node.settings.base_url}/events.ics",
        days=await _days(node),
    )
    return _ics(body, feeds.filename(node.settings.node_name, "events"))


async def organization_ics(request: Request) -> Response:
    node = common.node(request)
    organization = await _organization(node, request.path_params["name"])
    body = feeds.calendar(
        await _items(node, organization.id),
        name=organization.display_name,
        uid=f"{node.settings.base_url}/actors/{organization.name}/events.ics",
    )
    return _ics(body, feeds.filename(organization.display_name, organization.name))


async def node_atom(request: Request) -> Response:
    node = common.node(request)
    base = node.settings.base_url
    return _atom(
        feeds.atom(
            await _items(node),
            feed_id=f"{base}/actions.atom",
            title=node.settings.node_name,
            self_url=f"{base}/actions.atom",
            alternate_url=f"{base}/actions",
        )
    )


async def organization_atom(request: Request) -> Response:
    node = common.node(request)
    organization = await _organization(node, request.path_params["name"])
    base = node.settings.base_url
    url = f"{base}/actors/{organization.name}/actions.atom"
    return _atom(
        feeds.atom(
            await _items(node, organization.id),
            feed_id=url,
            title=organization.display_name,
            self_url=url,
            alternate_url=f"{base}/actors/{organization.name}",
        )
    )


routes = [
    Route("/events.ics", node_ics),
    Route("/actions.atom", node_atom),
    Route("/actions/{id}.ics", event_ics),
    Route("/assemblies/{id}.ics", event_ics),
    Route("/actors/{name}/events.ics", organization_ics),
    Route("/actors/{name}/actions.atom", organization_atom),
]
