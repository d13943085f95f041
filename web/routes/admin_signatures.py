"""The signatures collected on this node, for its admins: the only place their addresses show."""

from __future__ import annotations

from typing import Any

from babel.numbers import format_decimal
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from actors import signatures, signer_messages
from actors.errors import ValidationError
from actors.organizations import create_organization
from actors.signer_messages import MessageInput
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
        "notice": request.query_params.get("notice", ""),
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
    elif decision == "resend":
        await signatures.resend_links(node.federation, signature_id, node.mail)
        return RedirectResponse(_with_notice(_back(request), "resent"), status_code=303)
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


def _with_notice(path: str, notice: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}notice={notice}"


def _message_values(form: Any = None) -> dict[str, str]:
    names = ["subject", "body", "rate", "per", "form_key"]
    names += [f"{kind}_{code}" for code, _name in i18n.languages() for kind in ("subject", "body")]
    if form is None:
        return {name: "" for name in names} | {
            "rate": "60",
            "per": "minute",
            "form_key": signer_messages.new_form_key(),
        }
    return {name: common.form_text(form, name) for name in names}


async def _messages_page(
    request: Request,
    values: dict[str, str],
    *,
    problems: dict[str, str] | None = None,
    status: int = 200,
    summary: bool = True,
) -> Response:
    """`summary`: the problems are the new message's (else one message's rate, said beside
    its own form)."""
    node = common.node(request)
    async with node.db.read() as session:
        sent = await signer_messages.history(session)
        recipients = await signer_messages.recipients_count(session)
    lang = i18n.language(request)
    context: dict[str, Any] = {
        "values": values,
        "problems": problems or {},
        "summary": summary,
        "history": sent,
        "recipients": recipients,
        "message_languages": i18n.languages(),
        "max_body": signer_messages.MAX_BODY,
        "max_subject": signer_messages.MAX_SUBJECT,
        # Written as the page's language writes numbers.
        "max_body_text": format_decimal(signer_messages.MAX_BODY, locale=i18n.locale(lang)),
        "max_rate_text": format_decimal(signer_messages.MAX_RATE, locale=i18n.locale(lang)),
        "mail_configured": node.settings.smtp is not None,
        "queued": request.query_params.get("queued", "").isdigit(),
        "notice": request.query_params.get("notice", ""),
    }
    return request.app.state.templates.render(
        request, "admin/signer_messages.html", context, status=status
    )


@admin_required
async def messages_page(request: Request) -> Response:
    return await _messages_page(request, _message_values())


@admin_required
async def send_message(request: Request) -> Response:
    node = common.node(request)
    form = await read_form(request)
    values = _message_values(form)
    given = MessageInput(
        subject=values["subject"],
        body=values["body"],
        translations={
            code: (values[f"subject_{code}"], values[f"body_{code}"])
            for code, _name in i18n.languages()
        },
        rate=values["rate"],
        per=values["per"],
        form_key=values["form_key"],
    )
    try:
        message_id = await signer_messages.send(node.db, node.mail, node.settings.base_url, given)
    except ValidationError as exc:
        problems = messages.beside_fields(exc, i18n.language(request))
        return await _messages_page(request, values, problems=problems, status=400)
    return RedirectResponse(f"/admin/signatures/messages?queued={message_id}", status_code=303)


@admin_required
async def message_action(request: Request) -> Response:
    """Change the rate of a message still going out, or stop it."""
    node = common.node(request)
    message_id = request.path_params["id"]
    form = await read_form(request)
    if request.path_params["action"] == "rate":
        try:
            await signer_messages.change_rate(
                node.db,
                message_id,
                common.form_text(form, "rate"),
                common.form_text(form, "per"),
            )
        except ValidationError as exc:
            problems = {f"rate-{message_id}": messages.sentences(exc, i18n.language(request))}
            return await _messages_page(
                request, _message_values(), problems=problems, status=400, summary=False
            )
        notice = "rate"
    elif request.path_params["action"] == "stop":
        await signer_messages.stop(node.db, message_id)
        notice = "stopped"
    else:
        return Response(status_code=404)
    return RedirectResponse(f"/admin/signatures/messages?notice={notice}", status_code=303)


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
    Route("/admin/signatures/messages", messages_page, methods=["GET"]),
    Route("/admin/signatures/messages", send_message, methods=["POST"]),
    Route("/admin/signatures/messages/{id:int}/{action:str}", message_action, methods=["POST"]),
    Route("/admin/signatures/{id:int}/{decision:str}", decide, methods=["POST"]),
]
