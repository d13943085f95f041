"""ActivityPub endpoints: actors, their collections, published activities.

Inboxes are answered before any routing, by web.inbox_endpoint.
"""

from __future__ import annotations

import logging
from typing import Any

from babel.dates import format_date
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors import activitystreams, event_to_as, reports, solidarity_days
from actors.organizations import by_name
from federation import follows, paging
from federation import outbox as outbox_reads
from federation.models import Follower, Following, LocalActor
from federation.node import INSTANCE_USERNAME
from web.i18n import language
from web.negotiation import ActivityJSONResponse, wants_activity_json
from web.routes import common
from web.routes.reports import item as report_item
from web.runtime import Node

log = logging.getLogger(__name__)

# The organization page names the next few solidarity days; /days has them all.
DAYS_ON_ORGANIZATION_PAGE = 5


async def _local_actor(request: Request) -> LocalActor:
    node = common.node(request)
    name = request.path_params.get("name", INSTANCE_USERNAME)
    if name == INSTANCE_USERNAME and "name" in request.path_params:
        raise HTTPException(404, "No such organization")
    async with node.db.read() as session:
        actor = await node.federation.local_actor_by_username(session, name)
    if actor is None:
        raise HTTPException(404, "No such organization")
    return actor


async def organization(request: Request) -> Response:
    node = common.node(request)
    async with node.db.read() as session:
        found = await by_name(session, request.path_params["name"])
    if found is None:
        raise HTTPException(404, "No such organization")
    org, actor = found
    if wants_activity_json(request):
        return ActivityJSONResponse(
            activitystreams.organization_actor(
                org, actor, shared_inbox=node.federation.shared_inbox_uri, page_url=actor.uri
            )
        )
    lang = language(request)
    return request.app.state.templates.render(
        request,
        "organization.html",
        {
            "organization": org,
            "actor": actor,
            "handle": f"@{org.name}@{node.settings.domain}",
            "followers": await _count(node, Follower, actor),
            "items": await common.upcoming_items(node, organization_id=org.id, lang=lang),
            "days": await _coming_days(node, lang),
            "reports": await _reports(node, org.id, lang),
        },
    )


async def _reports(node: Node, organization_id: int, lang: str) -> list[dict[str, Any]]:
    """The organization's latest reports, for its page."""
    async with node.db.read() as session:
        found = await reports.latest(session, organization_id=organization_id, limit=10)
    return [report_item(report, lang) for report in found]


async def _coming_days(node: Node, lang: str) -> list[dict[str, Any]]:
    """The next solidarity days this node knows of, declared here or by those it follows:
    how an organizer learns of a day declared elsewhere."""
    async with node.db.read() as session:
        days = await solidarity_days.coming(session, limit=DAYS_ON_ORGANIZATION_PAGE)
    return [
        {
            "day": day,
            "when": format_date(day.day, format="full", locale=lang),
            "page": solidarity_days.page_path(day),
        }
        for day in days
    ]


async def instance_actor(request: Request) -> Response:
    node = common.node(request)
    actor = await _local_actor(request)
    # Fetchable unsigned (FEP-2677): it is how other servers learn the key of our signed GETs.
    return ActivityJSONResponse(
        activitystreams.instance_actor(
            actor,
            shared_inbox=node.federation.shared_inbox_uri,
            node_name=node.settings.node_name,
            page_url=f"{node.settings.base_url}/",
        )
    )


async def _count(node: Node, model: type[Follower] | type[Following], actor: LocalActor) -> int:
    async with node.db.read() as session:
        return await follows.accepted_count(session, model, actor)


def _page(request: Request) -> int | None:
    try:
        return paging.page_number(request.query_params.get("page"))
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc


async def _graph_collection(request: Request, model: type[Follower] | type[Following]) -> Response:
    node = common.node(request)
    actor = await _local_actor(request)
    uri = actor.followers_uri if model is Follower else actor.following_uri
    total = await _count(node, model, actor)
    number = _page(request)
    if number is None:
        return ActivityJSONResponse(paging.collection(uri, total))
    async with node.db.read() as session:
        items = await follows.accepted_page(
            session,
            model,
            actor,
            offset=(number - 1) * paging.PAGE_SIZE,
            limit=paging.PAGE_SIZE,
        )
    return ActivityJSONResponse(paging.page(uri, number, total, items))


async def followers(request: Request) -> Response:
    return await _graph_collection(request, Follower)


async def following(request: Request) -> Response:
    return await _graph_collection(request, Following)


async def outbox(request: Request) -> Response:
    node = common.node(request)
    actor = await _local_actor(request)
    async with node.db.read() as session:
        total = await outbox_reads.public_count(session, actor)
        number = _page(request)
        if number is None:
            return ActivityJSONResponse(paging.collection(actor.outbox_uri, total))
        items = await outbox_reads.public_page(
            session,
            actor,
            offset=(number - 1) * paging.PAGE_SIZE,
            limit=paging.PAGE_SIZE,
        )
    for item in items:
        item.pop("@context", None)
    return ActivityJSONResponse(paging.page(actor.outbox_uri, number, total, items))


async def organization_events(request: Request) -> Response:
    """The organization's upcoming actions and assemblies, soonest first, as Event objects."""
    node = common.node(request)
    async with node.db.read() as session:
        found = await by_name(session, request.path_params["name"])
    if found is None:
        raise HTTPException(404, "No such organization")
    org, actor = found
    uri = f"{actor.uri}/events"
    items = [
        event_to_as.event_object(node.settings.base_url, item["event"], actor)
        for item in await common.upcoming_items(node, organization_id=org.id)
    ]
    return ActivityJSONResponse(
        {
            "@context": event_to_as.EVENT_CONTEXT,
            "id": uri,
            "type": "OrderedCollection",
            "totalItems": len(items),
            "orderedItems": items,
        }
    )


async def activity(request: Request) -> Response:
    node = common.node(request)
    uri = f"{node.settings.base_url}/activities/{request.path_params['id']}"
    async with node.db.read() as session:
        body = await outbox_reads.public_activity(session, uri)
    # Follows, Accepts and other addressed activities are not for the public to read.
    if body is None:
        raise HTTPException(404, "No such activity")
    return ActivityJSONResponse(body)


routes = [
    Route("/actor", instance_actor),
    Route("/actor/outbox", outbox),
    Route("/actor/followers", followers),
    Route("/actor/following", following),
    Route("/actors/{name}", organization),
    Route("/actors/{name}/outbox", outbox),
    Route("/actors/{name}/followers", followers),
    Route("/actors/{name}/following", following),
    Route("/actors/{name}/events", organization_events),
    Route("/activities/{id}", activity),
]
