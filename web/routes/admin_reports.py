"""Admin pages for reports from the struggle: list, write, edit, unpublish, publish again,
delete.

The form turns what the organizer types into a `reports.ReportInput`; every rule stays in
`actors.reports`, which also sends each change to the organization's followers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from actors import call, reports
from actors.errors import ValidationError
from actors.models import Organization, Report
from web import messages
from web.auth import admin_required
from web.forms import accepts_upload, read_form
from web.i18n import language
from web.routes import common
from web.routes.reports import image_directory
from web.runtime import Node

FLASH = "admin_reports_notice"
TEXT_FIELDS = ("title", "summary", "body", "language", "tags", "related", "org")


def parse(values: dict[str, str]) -> reports.ReportInput:
    """The form's text as input for the domain: hashtags separated by spaces or commas, the
    related addresses one a line."""
    return reports.ReportInput(
        title=values["title"],
        summary=values["summary"],
        body=values["body"],
        language=values["language"] or None,
        tags=[tag for tag in values["tags"].replace(",", " ").split() if tag],
        related=[line.strip() for line in values["related"].splitlines() if line.strip()],
    )


def values_from(data: reports.ReportInput) -> dict[str, str]:
    return {
        "title": data.title,
        "summary": data.summary,
        "body": data.body,
        "language": data.language or "",
        "tags": " ".join(f"#{tag}" for tag in data.tags),
        "related": "\n".join(data.related),
        "org": "",
    }


async def _own_report(node: Node, report_id: int) -> tuple[Report, Organization]:
    async with node.db.read() as session:
        report, organization, _actor = await reports.own_report(session, report_id=report_id)
    return report, organization


def _render_form(
    request: Request,
    *,
    values: dict[str, str],
    organizations: list[tuple[Organization, Any]],
    report: Report | None = None,
    organization: Organization | None = None,
    error: ValidationError | None = None,
    translation: dict[str, str] | None = None,
    image_alt: str | None = None,
    status: int = 200,
) -> Response:
    lang = language(request)
    return request.app.state.templates.render(
        request,
        "admin/report_form.html",
        {
            "values": values,
            "report": report,
            "organization": organization,
            "organizations": organizations,
            "languages": common.language_options(lang),
            "translation": translation or dict.fromkeys(TRANSLATION_FIELDS, ""),
            "image": reports.image_path(report) if report is not None else None,
            "image_alt": image_alt if image_alt is not None else (report and report.image_alt),
            "max_image_mb": call.MAX_IMAGE_MB,
            "problems": messages.beside_fields(error, lang),
        },
        status=status,
    )


def _form_values(form: Any) -> dict[str, str]:
    return {name: common.form_text(form, name) for name in TEXT_FIELDS}


@admin_required
async def new_report(request: Request) -> Response:
    node = common.node(request)
    organizations = await common.organizations(node)
    if request.method == "GET":
        return _render_form(
            request, values=dict.fromkeys(TEXT_FIELDS, ""), organizations=organizations
        )
    values = _form_values(await read_form(request))
    try:
        report = await reports.publish(node.federation, parse(values), org=values["org"] or None)
    except ValidationError as exc:
        return _render_form(
            request, values=values, organizations=organizations, error=exc, status=400
        )
    request.session[FLASH] = {"what": "published", "title": report.title, "page": report.uri}
    return RedirectResponse("/admin/reports", status_code=303)


@admin_required
async def edit_report(request: Request) -> Response:
    node = common.node(request)
    report, organization = await _own_report(node, request.path_params["id"])
    context: dict[str, Any] = {
        "report": report,
        "organization": organization,
        "organizations": await common.organizations(node),
    }
    if request.method == "GET":
        return _render_form(request, values=values_from(reports.input_from(report)), **context)
    values = _form_values(await read_form(request))
    try:
        changed = await reports.edit(node.federation, report.uri, parse(values))
    except ValidationError as exc:
        return _render_form(request, values=values, error=exc, status=400, **context)
    request.session[FLASH] = {"what": "updated", "title": changed.title, "page": report.uri}
    return RedirectResponse("/admin/reports", status_code=303)


TRANSLATION_FIELDS = ("t_language", "t_title", "t_summary", "t_body")


@admin_required
async def translate_report(request: Request) -> Response:
    """Add or replace one translation, from the form under the report's own on its edit page."""
    node = common.node(request)
    report, organization = await _own_report(node, request.path_params["id"])
    form = await read_form(request)
    given = {name: common.form_text(form, name) for name in TRANSLATION_FIELDS}
    data = reports.TranslationInput(
        language=given["t_language"],
        title=given["t_title"],
        summary=given["t_summary"],
        body=given["t_body"],
    )
    try:
        await reports.translate(node.federation, report.uri, data)
    except ValidationError as exc:
        # The translation form's fields are named apart from the report's own.
        error = ValidationError(
            dataclasses.replace(problem, field=f"t_{problem.field}")
            for problem in exc.problems.values()
        )
        return _render_form(
            request,
            values=values_from(reports.input_from(report)),
            organizations=await common.organizations(node),
            report=report,
            organization=organization,
            error=error,
            translation=given,
            status=400,
        )
    request.session[FLASH] = {"what": "translated", "title": report.title, "page": report.uri}
    return RedirectResponse("/admin/reports", status_code=303)


@admin_required
async def remove_translation(request: Request) -> Response:
    node = common.node(request)
    report, _organization = await _own_report(node, request.path_params["id"])
    await reports.remove_translation(node.federation, report.uri, request.path_params["lang"])
    return RedirectResponse(f"/admin/reports/{report.id}/edit#translations", status_code=303)


@accepts_upload(2 * call.MAX_IMAGE_BYTES)
@admin_required
async def report_image(request: Request) -> Response:
    node = common.node(request)
    report, organization = await _own_report(node, request.path_params["id"])
    form = await read_form(request)
    alt = common.form_text(form, "alt")
    upload = form.get("image")
    data = await upload.read() if isinstance(upload, UploadFile) else None
    try:
        await reports.set_image(
            node.federation, report.uri, image_directory(node.settings), data, alt
        )
    except ValidationError as exc:
        return _render_form(
            request,
            values=values_from(reports.input_from(report)),
            organizations=await common.organizations(node),
            report=report,
            organization=organization,
            error=exc,
            image_alt=alt,
            status=400,
        )
    return RedirectResponse(f"/admin/reports/{report.id}/edit#image", status_code=303)


@admin_required
async def remove_report_image(request: Request) -> Response:
    node = common.node(request)
    report, _organization = await _own_report(node, request.path_params["id"])
    await reports.remove_image(node.federation, report.uri)
    return RedirectResponse(f"/admin/reports/{report.id}/edit#image", status_code=303)


@admin_required
async def unpublish_report(request: Request) -> Response:
    node = common.node(request)
    report, _organization = await _own_report(node, request.path_params["id"])
    await reports.unpublish(node.federation, report.uri)
    request.session[FLASH] = {"what": "unpublished", "title": report.title, "page": ""}
    return RedirectResponse("/admin/reports", status_code=303)


@admin_required
async def republish_report(request: Request) -> Response:
    node = common.node(request)
    report = await reports.republish(node.federation, request.path_params["id"])
    request.session[FLASH] = {"what": "published", "title": report.title, "page": report.uri}
    return RedirectResponse("/admin/reports", status_code=303)


@admin_required
async def delete_report(request: Request) -> Response:
    node = common.node(request)
    report_id = request.path_params["id"]
    async with node.db.read() as session:
        rows = await reports.own_reports(session)
    drafts = {report.id for report, _organization in rows if report.draft}
    if report_id in drafts:
        gone = await reports.discard_draft(node.federation, report_id)
    else:
        report, _organization = await _own_report(node, report_id)  # 404 if gone meanwhile
        gone = await reports.delete(node.federation, report.uri)
    request.session[FLASH] = {"what": "deleted", "title": gone.title, "page": ""}
    return RedirectResponse("/admin/reports", status_code=303)


@admin_required
async def hide_reply(request: Request) -> Response:
    node = common.node(request)
    report = await reports.hide_reply(node.federation, request.path_params["id"])
    return RedirectResponse(reports.page_path(report) + "#replies", status_code=303)


@admin_required
async def list_reports(request: Request) -> Response:
    node = common.node(request)
    async with node.db.read() as session:
        rows = await reports.own_reports(session)
    items: list[dict[str, Any]] = [
        {"report": report, "organization": organization, "page": report.uri}
        for report, organization in rows
    ]
    return request.app.state.templates.render(
        request,
        "admin/reports.html",
        {
            "published": [i for i in items if not i["report"].draft],
            "drafts": [i for i in items if i["report"].draft],
            "several_organizations": len(await common.organizations(node)) > 1,
            "notice": request.session.pop(FLASH, None),
        },
    )


routes = [
    Route("/admin/reports", list_reports),
    Route("/admin/reports/new", new_report, methods=["GET", "POST"]),
    Route("/admin/reports/{id:int}/edit", edit_report, methods=["GET", "POST"]),
    Route("/admin/reports/{id:int}/translate", translate_report, methods=["POST"]),
    Route("/admin/reports/{id:int}/image", report_image, methods=["POST"]),
    Route("/admin/reports/{id:int}/image/remove", remove_report_image, methods=["POST"]),
    Route(
        "/admin/reports/{id:int}/translations/{lang}/delete", remove_translation, methods=["POST"]
    ),
    Route("/admin/reports/{id:int}/unpublish", unpublish_report, methods=["POST"]),
    Route("/admin/reports/{id:int}/republish", republish_report, methods=["POST"]),
    Route("/admin/reports/{id:int}/delete", delete_report, methods=["POST"]),
    Route("/admin/reports/replies/{id:int}/hide", hide_reply, methods=["POST"]),
]
