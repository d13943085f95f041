"""Blocked servers and accounts, for the admins: add one with a reason, lift one."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from federation import blocks
from federation.models import Block
from web.auth import admin_required
from web.forms import read_form
from web.routes import common

FLASH = "admin_blocks_notice"


async def _render(
    request: Request, *, typed: str = "", reason: str = "", problem: str = "", status: int = 200
) -> Response:
    async with common.node(request).db.read() as session:
        found = await blocks.every(session)
    return request.app.state.templates.render(
        request,
        "admin/blocks.html",
        {
            "blocks": found,
            "typed": typed,
            "reason": reason,
            "problem": problem,
            "notice": request.session.pop(FLASH, None),
        },
        status=status,
    )


@admin_required
async def list_blocks(request: Request) -> Response:
    return await _render(request)


@admin_required
async def add_block(request: Request) -> Response:
    form = await read_form(request)
    typed = str(form.get("target", "")).strip()
    reason = str(form.get("reason", "")).strip()
    node = common.node(request)
    try:
        target = await blocks.resolve(node.federation, typed)
    except blocks.BlockError:
        # Said in the page's language by the template: "account" when a handle was not found.
        problem = "account" if "@" in typed.lstrip("@") and "://" not in typed else "target"
        return await _render(request, typed=typed, reason=reason, problem=problem, status=400)
    await blocks.add(node.federation, target, reason)
    request.session[FLASH] = {"what": "blocked", "target": target.value}
    return RedirectResponse("/admin/blocks", status_code=303)


@admin_required
async def remove_block(request: Request) -> Response:
    node = common.node(request)
    async with node.db.read() as session:
        row = await session.get(Block, request.path_params["id"])
    if row is None:
        raise HTTPException(404, "No such block")
    try:
        await blocks.remove(node.federation, blocks.Target(row.kind, row.target))
    except blocks.BlockError as exc:  # lifted meanwhile, by another admin or the CLI
        raise HTTPException(404, "No such block") from exc
    request.session[FLASH] = {"what": "unblocked", "target": row.target}
    return RedirectResponse("/admin/blocks", status_code=303)


routes = [
    Route("/admin/blocks", list_blocks),
    Route("/admin/blocks/new", add_block, methods=["POST"]),
    Route("/admin/blocks/{id:int}/remove", remove_block, methods=["POST"]),
]
