"""The admins' contact inbox (read, answer by e-mail, delete, forwarding and retention) and
their view of the outgoing mail queue."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import contact
from actors.errors import ValidationError
from actors.mail import queue as mail_queue
from web import i18n, messages
from web.auth import admin_required
from web.forms import read_form
from web.routes import common

FLASH = "admin_contact_notice"


async def _inbox(
    request: Request,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    node = common.node(request)
    async with node.db.read() as session:
        found = await contact.inbox(session)
        unread = await contact.unread_count(session)
        kept = await contact.settings(session)
    return request.app.state.templates.render(
        request,
        "admin/contact.html",
        {
            "messages": found,
            "unread": unread,
            "typed": typed
            or {"forward_to": kept.forward_to, "retention_days": str(kept.retention_days)},
            "problems": problems or {},
            "notice": request.session.pop(FLASH, None),
            "mail_on": node.settings.smtp is not None,
        },
        status=status,
    )


@admin_required
async def inbox(request: Request) -> Response:
    return await _inbox(request)


@admin_required
async def save_settings(request: Request) -> Response:
    form = await read_form(request)
    typed = {name: str(form.get(name, "")) for name in ("forward_to", "retention_days")}
    lang = i18n.language(request)
    try:
        await contact.save_settings(common.node(request).db, **typed, language=lang)
    except ValidationError as exc:
        return await _inbox(
            request, typed=typed, problems=messages.beside_fields(exc, lang), status=400
        )
    request.session[FLASH] = "saved"
    return RedirectResponse("/admin/contact#settings", status_code=303)


async def _message_page(
    request: Request, *, reply: str = "", problems: dict[str, str] | None = None, status: int = 200
) -> Response:
    node = common.node(request)
    found = await contact.read(node.db, request.path_params["message_id"])
    return request.app.state.templates.render(
        request,
        "admin/contact_message.html",
        {
            "message": found,
            "reply": reply,
            "problems": problems or {},
            "notice": request.session.pop(FLASH, None),
            "mail_on": node.settings.smtp is not None,
        },
        status=status,
    )


@admin_required
async def show(request: Request) -> Response:
    return await _message_page(request)


@admin_required
async def answer(request: Request) -> Response:
    node = common.node(request)
    form = await read_form(request)
    text = str(form.get("reply", ""))
    message_id = request.path_params["message_id"]
    try:
        await contact.reply(node.db, node.mail, message_id, text, node_name=node.settings.node_name)
    except ValidationError as exc:
        problems = messages.beside_fields(exc, i18n.language(request))
        return await _message_page(request, reply=text, problems=problems, status=400)
    request.session[FLASH] = "replied"
    return RedirectResponse(f"/admin/contact/{message_id}", status_code=303)


@admin_required
async def delete(request: Request) -> Response:
    await contact.remove(common.node(request).db, request.path_params["message_id"])
    request.session[FLASH] = "deleted"
    return RedirectResponse("/admin/contact", status_code=303)


@admin_required
async def mail(request: Request) -> Response:
    node = common.node(request)
    async with node.db.read() as session:
        found = await mail_queue.status(session)
    return request.app.state.templates.render(
        request,
        "admin/mail.html",
        {
            "queue": found,
            "mail_on": node.settings.smtp is not None,
            "notice": request.session.pop(FLASH, None),
        },
    )


@admin_required
async def retry_mail(request: Request) -> Response:
    node = common.node(request)
    await mail_queue.retry_now(node.db, node.mail)
    request.session[FLASH] = "retrying"
    return RedirectResponse("/admin/mail", status_code=303)


routes = [
    Route("/admin/contact", inbox),
    Route("/admin/contact/settings", save_settings, methods=["POST"]),
    Route("/admin/contact/{message_id:int}", show),
    Route("/admin/contact/{message_id:int}/reply", answer, methods=["POST"]),
    Route("/admin/contact/{message_id:int}/delete", delete, methods=["POST"]),
    Route("/admin/mail", mail),
    Route("/admin/mail/retry", retry_mail, methods=["POST"]),
]
