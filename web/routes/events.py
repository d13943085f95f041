"""Actions and assemblies on the web: their pages and AS2 documents, and the listings."""

from __future__ import annotations

from email.utils import format_datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import event_to_as, events, participation
from actors.errors import ValidationError
from actors.events import event_path
from actors.models import Event
from federation.as2 import AS_CONTEXT, with_context
from web import i18n, messages
from web.auth import check_csrf
from web.forms import read_form
from web.negotiation import ActivityJSONResponse, wants_activity_json
from web.routes import common
from web.runtime import Node


def _(message: str) -> str:
    """Marks a message for the catalogs; translated when shown."""
    return message


TOO_MANY = _("Too many registrations from here. Please try again later.")


async def event_page(request: Request) -> Response:
    node = common.node(request)
    category = "assembly" if request.url.path.startswith("/assemblies/") else "action"
    uri = f"{node.settings.base_url}/{event_path(category)}/{request.path_params['id']}"
    async with node.db.read() as session:
        row = await events.with_organizer(session, uri)
    if row is None:
        raise HTTPException(404, "No such action or assembly")
    event, organization, actor = row
    async with node.db.read() as session:
        taking_part = await participation.counts(session, event.id)
        replies = await events.shown_replies(session, event)
    if event.deleted_at is not None:
        if wants_activity_json(request):
            # Gone, and saying so: servers that cached it drop it instead of retrying.
            gone = with_context(event_to_as.EVENT_CONTEXT, event_to_as.tombstone(event))
            return ActivityJSONResponse(gone, status_code=410)
        return request.app.state.templates.render(
            request, "event_gone.html", {"event": event}, status=410
        )
    if wants_activity_json(request):
        document = event_to_as.event_object(
            node.settings.base_url, event, actor, participant_count=taking_part["going"]
        )
        response = ActivityJSONResponse(with_context(event_to_as.EVENT_CONTEXT, document))
        if category == "action":
            # All an action's object says changes with updated_at (an assembly's also holds
            # its participant count). Pages show the alert banner too: they have no such time.
            response.headers["Last-Modified"] = format_datetime(event.updated_at, usegmt=True)
        return response
    return request.app.state.templates.render(
        request,
        "event.html",
        {
            "event": event,
            "view": common.event_view(event, i18n.language(request)),
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
        event = await events.by_uri(session, uri)
    if event is None or not event.is_local:
        raise HTTPException(404, "No such assembly")
    return event


async def register(request: Request) -> Response:
    """Sign up for an assembly from its page: a name, and an email kept on this node."""
    node = common.node(request)
    event = await _local_event(node, request)
    await check_csrf(request)
    throttle = request.app.state.register_throttle
    client = request.client.host if request.client else "unknown"
    wait = await throttle.retry_after(client)
    if wait is None and not await throttle.hit(client):
        wait = await throttle.retry_after(client) or 1
    if wait is not None:
        request.session["register_error"] = i18n.translate(TOO_MANY, i18n.language(request))
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
    except ValidationError as exc:
        # Worded now, in the language the visitor reads the page in.
        request.session["register_error"] = messages.sentences(exc, i18n.language(request))
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
    node = common.node(request)
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
    node = common.node(request)
    event = await _local_event(node, request)
    async with node.db.read() as session:
        going = (await participation.counts(session, event.id))["going"]
    return ActivityJSONResponse(
        {
            "@context": AS_CONTEXT,
            "id": f"{event.uri}/attendees",
            "type": "Collection",
            "totalItems": going,
        }
    )


async def listing(request: Request) -> Response:
    node = common.node(request)
    return request.app.state.templates.render(
        request,
        "events.html",
        {"items": await common.upcoming_items(node, lang=i18n.language(request))},
    )


routes = [
    Route("/actions", listing),
    Route("/actions/{id}", event_page),
    Route("/assemblies/{id}", event_page),
    Route("/assemblies/{id}/register", register, methods=["POST"]),
    Route("/assemblies/{id}/attendees", attendees),
    Route("/assemblies/{id}/leave/{token}", leave, methods=["GET", "POST"]),
]
