"""The signatures collected on this node, for its admins: the only place their addresses show."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from actors import signatures
from actors.errors import ValidationError
from actors.organizations import create_organization
from web import i18n, messages
from web.auth import admin_required
from web.forms import read_form
from web.routes import common
from web.signature_export import rows

PAGE = 100
STATES = ("", "waiting", "confirmed", "join")


async def _page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    node = common.node(request)
    query = request.query_params.get("q", "")[:200]
    state = request.query_params.get("state", "")
    state = state if state in STATES else ""
    page = request.query_params.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    async with node.db.read() as session:
        found, total = await signatures.search(
            session, query, state=state, limit=PAGE, offset=(number - 1) * PAGE
        )
        counts = await signatures.counts_by_state(session)
    context: dict[str, Any] = {
        "found": found,
        "total": total,
        "counts": counts,
        "query": query,
        "state": state,
        "page": number,
        "pages": max(1, -(-total // PAGE)),
        "error": error,
    }
    return request.app.state.templates.render(
        request, "admin/signatures.html", context, status=status
    )


@admin_required
async def listing(request: Request) -> Response:
    return await _page(request)


def _back(request: Request) -> str:
    form_next = request.query_params.get("next", "")
    return form_next if form_next.startswith("/admin/signatures") else "/admin/signatures"


@admin_required
async def decide(request: Request) -> Response:
    node = common.node(request)
    signature_id = request.path_params["id"]
    decision = request.path_params["decision"]
    if decision == "confirm":
        await signatures.confirm_by_admin(node.federation, signature_id)
    elif decision == "remove":
        await signatures.remove_by_admin(node.federation, signature_id)
    elif decision == "organization":
        form = await read_form(request)
        async with node.db.read() as session:
            signature = await signatures.get(session, signature_id)
        try:
            await create_organization(
                node.federation,
                common.form_text(form, "handle").strip().lower(),
                display_name=signature.organization_name or signature.name,
            )
        except ValidationError as exc:
            return await _page(
                request, error=messages.sentences(exc, i18n.language(request)), status=400
            )
    else:
        return Response(status_code=404)
    return RedirectResponse(_back(request), status_code=303)


@admin_required
async def export(request: Request) -> Response:
    node = common.node(request)
    return StreamingResponse(
        rows(node.db),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="signatures.csv"'},
    )


routes = [
    Route("/admin/signatures", listing),
    Route("/admin/signatures.csv", export),
    Route("/admin/signatures/{id:int}/{decision:str}", decide, methods=["POST"]),
]
