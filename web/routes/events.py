"""Actions and assemblies on the web: their pages and AS2 documents, and the listings."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import event_text, internal_to_as, participation
from actors.events import event_path
from actors.models import Event, Organization, Reply
from actors.visibility import by_visible_authors, visible
from federation.db import utcnow
from federation.models import LocalActor
from web import i18n
from web.auth import check_csrf
from web.forms import read_form
from web.labels import ONLINE
from web.negotiation import ActivityJSONResponse, wants_activity_json
from web.runtime import Node


def _node(request: Request) -> Node:
    return request.app.state.node


async def event_page(request: Request) -> Response:
    node = _node(request)
    category = "assembly" if request.url.path.startswith("/assemblies/") else "action"
    uri = f"{node.settings.base_url}/{event_path(category)}/{request.path_params['id']}"
    async with node.db.read() as session:
        row = (
            await session.execute(
                select(Event, Organization, LocalActor)
                .join(Organization, Event.organization_id == Organization.id)
                .join(LocalActor, Organization.local_actor_id == LocalActor.id)
                .where(Event.uri == uri)
            )
        ).first()
    if row is None:
        raise HTTPException(404, "No such action or assembly")
    event, organization, actor = row
    async with node.db.read() as session:
        taking_part = await participation.counts(session, event.id)
        replies = by_visible_authors(
            session,
            (
                await session.execute(
                    select(Reply)
                    .where(Reply.event_id == event.id, Reply.hidden.is_(False))
                    .order_by(Reply.published_at)
                )
            ).scalars(),
        )
    if event.deleted_at is not None:
        if wants_activity_json(request):
            # Gone, and saying so: servers that cached it drop it instead of retrying.
            return ActivityJSONResponse(
                internal_to_as.with_context(internal_to_as.tombstone(event)), status_code=410
            )
        return request.app.state.templates.render(
            request, "event_gone.html", {"event": event}, status=410
        )
    if wants_activity_json(request):
        return ActivityJSONResponse(
            internal_to_as.with_context(
                internal_to_as.event_object(
                    node.federation,
                    event,
                    organization,
                    actor,
                    participant_count=taking_part["going"],
                )
            )
        )
    return request.app.state.templates.render(
        request,
        "event.html",
        {
            "event": event,
            "view": view(event, i18n.language(request)),
            "organization": organization,
            "actor": actor,
            "handle": f"@{organization.name}@{node.settings.domain}",
            "taking_part": taking_part,
            "open": participation.open_for_registration(event),
            "replies": replies,
            "registered": request.query_params.get("registered"),
            "leave_link": request.session.pop("leave_link", None),
            "error": request.session.pop("register_error", None),
        },
    )


async def _local_event(node: Node, request: Request) -> Event:
    uri = f"{node.settings.base_url}/assemblies/{request.path_params['id']}"
    async with node.db.read() as session:
        event = (
            await session.execute(select(Event).where(Event.uri == uri, Event.is_local.is_(True)))
        ).scalar_one_or_none()
    if event is None:
        raise HTTPException(404, "No such assembly")
    return event


async def register(request: Request) -> Response:
    """Sign up for an assembly from its page: a name, and an email kept on this node."""
    node = _node(request)
    event = await _local_event(node, request)
    await check_csrf(request)
    throttle = request.app.state.register_throttle
    client = request.client.host if request.client else "unknown"
    wait = await throttle.retry_after(client)
    if wait is None and not await throttle.hit(client):
        wait = await throttle.retry_after(client) or 1
    if wait is not None:
        request.session["register_error"] = "too many registrations from here; try again later"
        return RedirectResponse(
            f"{request.url.path.rsplit('/', 1)[0]}#register",
            303,
            headers={"Retry-After": str(wait)},
        )
    form = await read_form(request)
    try:
        participant = await participation.register_locally(
            node.federation,
            event.uri,
            name=str(form.get("name", "")),
            email=str(form.get("email", "")),
        )
    except participation.ParticipationError as exc:
        request.session["register_error"] = str(exc)
        return RedirectResponse(f"{request.url.path.rsplit('/', 1)[0]}#register", 303)
    # The page shows the registrant their own link to withdraw, once, from the session.
    request.session["leave_link"] = (
        f"{event.uri}/leave/{participation.leave_token(node.settings.secret_key, participant.id)}"
    )
    return RedirectResponse(
        f"{request.url.path.rsplit('/', 1)[0]}?registered={participant.state}#register", 303
    )


async def leave(request: Request) -> Response:
    """A registrant's own link: a confirmation page, then the registration is withdrawn."""
    node = _node(request)
    event = await _local_event(node, request)
    token = request.path_params["token"]
    templates = request.app.state.templates
    if request.method == "GET":
        return templates.render(request, "leave.html", {"event": event, "done": False})
    await check_csrf(request)
    left = await participation.leave_with_token(
        node.federation, event.uri, token, node.settings.secret_key
    )
    if not left:
        return templates.render(
            request, "leave.html", {"event": event, "done": False, "invalid": True}, status=404
        )
    return templates.render(request, "leave.html", {"event": event, "done": True})


async def attendees(request: Request) -> Response:
    """How many take part is public; who does is not."""
    node = _node(request)
    event = await _local_event(node, request)
    async with node.db.read() as session:
        going = (await participation.counts(session, event.id))["going"]
    return ActivityJSONResponse(
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{event.uri}/attendees",
            "type": "Collection",
            "totalItems": going,
        }
    )


def view(event: Event, lang: str | None = None) -> dict[str, object]:
    """What templates show of an event, already in its own time zone and words: the date in
    the event's language, or else the page's (`lang`); names of countries in the page's."""
    zone = ZoneInfo(event.timezone)
    map_url = None
    if event.latitude is not None and event.longitude is not None:
        map_url = (
            f"https://www.openstreetmap.org/?mlat={event.latitude:.5f}&mlon={event.longitude:.5f}"
            f"#map=16/{event.latitude:.5f}/{event.longitude:.5f}"
        )
    return {
        "when": event_text.when(event, event.language or lang),
        "where": event_text.where(event, online_word=i18n.translate(ONLINE, lang or i18n.DEFAULT)),
        "starts_local": event.starts_at.astimezone(zone),
        "map_url": map_url,
        "address": ", ".join(
            part
            for part in (
                event.street_address,
                event.postal_code,
                event.city,
                i18n.country_name(event.country, lang or i18n.DEFAULT) if event.country else None,
            )
            if part
        ),
    }


async def upcoming(
    node: Node, *, organization_id: int | None = None, limit: int = 200, lang: str | None = None
) -> list:
    """Events not over yet (own and followed), soonest first, with what the listing shows."""
    # An event stays listed until it ends; one without an end, for a day after it starts.
    now = utcnow()
    async with node.db.read() as session:
        query = (
            select(Event)
            .where(
                Event.deleted_at.is_(None),
                visible(session, Event),
                or_(
                    Event.ends_at >= now,
                    (Event.ends_at.is_(None)) & (Event.starts_at >= now - timedelta(days=1)),
                ),
            )
            .order_by(Event.starts_at)
            .limit(limit)
        )
        if organization_id is not None:
            query = query.where(Event.organization_id == organization_id)
        events = (await session.execute(query)).scalars().all()
    return [{"event": event, "view": view(event, lang)} for event in events]


async def listing(request: Request) -> Response:
    node = _node(request)
    return request.app.state.templates.render(
        request, "events.html", {"items": await upcoming(node, lang=i18n.language(request))}
    )


routes = [
    Route("/actions", listing),
    Route("/actions/{id}", event_page),
    Route("/assemblies/{id}", event_page),
    Route("/assemblies/{id}/register", register, methods=["POST"]),
    Route("/assemblies/{id}/attendees", attendees),
    Route("/assemblies/{id}/leave/{token}", leave, methods=["GET", "POST"]),
]
