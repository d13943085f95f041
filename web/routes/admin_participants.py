"""Who takes part in an assembly, for its organizers: names and emails stay behind the login."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import participation
from actors.models import Event
from web.auth import admin_required
from web.routes import common
from web.runtime import Node


async def _assembly(node: Node, event_id: int) -> Event:
    async with node.db.read() as session:
        event = await session.get(Event, event_id)
    if event is None or not event.is_local or event.category != "assembly":
        raise HTTPException(404, "No such assembly")
    return event


@admin_required
async def list_participants(request: Request) -> Response:
    node = common.node(request)
    event = await _assembly(node, request.path_params["id"])
    async with node.db.read() as session:
        people = await participation.participants(session, event.id)
        counts = await participation.counts(session, event.id)
    return request.app.state.templates.render(
        request,
        "admin/participants.html",
        {"event": event, "people": people, "counts": counts},
    )


@admin_required
async def decide(request: Request) -> Response:
    node = common.node(request)
    event = await _assembly(node, request.path_params["id"])
    participant_id = request.path_params["participant_id"]
    async with node.db.read() as session:
        known = {p.id for p in await participation.participants(session, event.id)}
    if participant_id not in known:
        raise HTTPException(404, "No such participant")
    if request.path_params["decision"] == "admit":
        await participation.admit(node.federation, participant_id)
    elif request.path_params["decision"] == "remove":
        await participation.remove(node.federation, participant_id)
    else:
        raise HTTPException(404, "Unknown decision")
    return RedirectResponse(f"/admin/events/{event.id}/participants", status_code=303)


routes = [
    Route("/admin/events/{id:int}/participants", list_participants),
    Route(
        "/admin/events/{id:int}/participants/{participant_id:int}/{decision:str}",
        decide,
        methods=["POST"],
    ),
]
