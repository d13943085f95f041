"""The moderation queue: plans sent through /submit, read and corrected by a moderator, then
approved (published as the organization's action), rejected with a reason, or removed as
spam (and their sender refused from then on, if the moderator says so)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import events, remote_submissions, submissions
from actors.errors import ValidationError
from web import i18n, messages
from web.auth import admin_required
from web.event_form import parse, values_from
from web.forms import read_form, refuse_unread
from web.routes import common
from web.routes.submit import PLAN_FIELDS, choices

FLASH = "admin_submissions_notice"
BLOCKS = ("", "address", "domain")


def _(message: str) -> str:
    """Marks a message for the catalogs; translated when shown."""
    return message


CREDIT = _("Plan sent by %(name)s")
CREDIT_WITH_ORGANIZATION = _("Plan sent by %(name)s (%(organization)s)")
APPROVED = _("Approved and published: “%(title)s”.")
REJECTED = _("Rejected; the person who sent it gets the reason by e-mail.")
REMOVED = _("Removed as spam.")
SAVED = _("Settings saved.")
REMOVED_AND_BLOCKED = _("Removed as spam; plans from %(pattern)s are refused from now on.")


async def _queue(
    request: Request,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    node = common.node(request)
    async with node.db.read() as session:
        waiting = await submissions.waiting(session)
        decided = await submissions.decided(session)
        kept = await submissions.settings(session)
    return request.app.state.templates.render(
        request,
        "admin/submissions.html",
        {
            "waiting": waiting,
            "decided": decided,
            "notice": request.session.pop(FLASH, None),
            "typed": typed or {"notify_to": kept.notify_to},
            "problems": problems or {},
            "mail_on": node.settings.smtp is not None,
        },
        status=status,
    )


@admin_required
async def queue(request: Request) -> Response:
    return await _queue(request)


@admin_required
async def save_settings(request: Request) -> Response:
    form = await read_form(request)
    typed = {"notify_to": common.form_text(form, "notify_to")}
    lang = i18n.language(request)
    try:
        await submissions.save_settings(common.node(request).db, **typed, language=lang)
    except ValidationError as exc:
        return await _queue(
            request, typed=typed, problems=messages.beside_fields(exc, lang), status=400
        )
    request.session[FLASH] = i18n.translate(SAVED, lang)
    return RedirectResponse("/admin/submissions#settings", status_code=303)


async def _page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    node = common.node(request)
    async with node.db.read() as session:
        row = await submissions.get(session, request.path_params["id"])
        organization = await submissions.organization_of(session, row)
    remote = row.source == remote_submissions.FEDIVERSE
    if values is None:
        values = {} if remote else values_from(submissions.plan_from_json(row.plan))
    context: dict[str, Any] = {
        "remote": remote_submissions.preview(row) if remote else None,
        "submission": row,
        "organization": organization,
        "values": values,
        "problems": problems or {},
        "reason": values.get("reason", ""),
    }
    if not remote:
        context.update(await choices(request, values))
    return request.app.state.templates.render(
        request, "admin/submission.html", context, status=status
    )


@admin_required
async def show(request: Request) -> Response:
    return await _page(request)


def _credit_line(row: Any, lang: str) -> str | None:
    """The submitter named as they agreed to be, in the language the plan is written in."""
    if not row.credit:
        return None
    if row.submitter_organization:
        text = i18n.translate(CREDIT_WITH_ORGANIZATION, lang)
        return text % {"name": row.submitter_name, "organization": row.submitter_organization}
    return i18n.translate(CREDIT, lang) % {"name": row.submitter_name}


@admin_required
async def approve(request: Request) -> Response:
    node = common.node(request)
    lang = i18n.language(request)
    form = await read_form(request)
    async with node.db.read() as session:
        row = await submissions.get(session, request.path_params["id"])
    if row.source == remote_submissions.FEDIVERSE:
        try:
            event = await remote_submissions.approve(node.federation, row.id)
        except ValidationError as exc:
            return await _page(request, problems=messages.beside_fields(exc, lang), status=400)
        request.session[FLASH] = i18n.translate(APPROVED, lang) % {"title": event.title}
        return RedirectResponse("/admin/submissions", status_code=303)
    values = {name: common.form_text(form, name) for name in PLAN_FIELDS}
    values.update(dict.fromkeys(("agenda", "sections", "capacity"), ""))
    data, unread = parse(values, "action", "markdown")
    written_in = data.language if data.language in i18n.catalogs() else row.language
    try:
        refuse_unread(unread, lambda: events.check(data, "action"))
        event = await submissions.approve(
            node.federation,
            node.mail,
            row.id,
            data,
            credit_line=_credit_line(row, written_in or i18n.DEFAULT),
            base_url=node.settings.base_url,
        )
    except ValidationError as exc:
        return await _page(
            request, values=values, problems=messages.beside_fields(exc, lang), status=400
        )
    request.session[FLASH] = i18n.translate(APPROVED, lang) % {"title": event.title}
    return RedirectResponse("/admin/submissions", status_code=303)


@admin_required
async def reject(request: Request) -> Response:
    node = common.node(request)
    lang = i18n.language(request)
    form = await read_form(request)
    reason = common.form_text(form, "reason")
    async with node.db.read() as session:
        row = await submissions.get(session, request.path_params["id"])
    try:
        if row.source == remote_submissions.FEDIVERSE:
            # No e-mail to a fediverse sender: its server is told by a `Reject`.
            await remote_submissions.reject(
                node.federation, row.id, submissions.checked_reason(reason)
            )
        else:
            await submissions.reject(
                node.db, node.mail, row.id, reason, base_url=node.settings.base_url
            )
    except ValidationError as exc:
        values = {"reason": reason}
        if row.source != remote_submissions.FEDIVERSE:
            values.update(values_from(submissions.plan_from_json(row.plan)))
        return await _page(
            request, values=values, problems=messages.beside_fields(exc, lang), status=400
        )
    request.session[FLASH] = i18n.translate(REJECTED, lang)
    return RedirectResponse("/admin/submissions", status_code=303)


@admin_required
async def spam(request: Request) -> Response:
    node = common.node(request)
    lang = i18n.language(request)
    form = await read_form(request)
    block = str(form.get("block", ""))
    if block not in BLOCKS:
        block = ""
    pattern = await submissions.remove_as_spam(node.db, request.path_params["id"], block=block)
    if pattern:
        request.session[FLASH] = i18n.translate(REMOVED_AND_BLOCKED, lang) % {"pattern": pattern}
    else:
        request.session[FLASH] = i18n.translate(REMOVED, lang)
    return RedirectResponse("/admin/submissions", status_code=303)


routes = [
    Route("/admin/submissions", queue),
    Route("/admin/submissions/settings", save_settings, methods=["POST"]),
    Route("/admin/submissions/{id:int}", show),
    Route("/admin/submissions/{id:int}/approve", approve, methods=["POST"]),
    Route("/admin/submissions/{id:int}/reject", reject, methods=["POST"]),
    Route("/admin/submissions/{id:int}/spam", spam, methods=["POST"]),
]
