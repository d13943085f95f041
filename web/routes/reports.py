"""Reports from the struggle on the web: each report's page (HTML, or its AS2 `Article` for
servers), the list of reports this node holds, its own and received, and their Atom feed.

Our own reports live at their id (`/reports/{uuid}`, also what servers fetch); a report
written elsewhere is shown at `/reports/remote/{n}`, with its origin and a link to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.dates import format_date
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from actors import call, report_to_as, reports
from actors.models import Report
from actors.organizations import actor_of
from actors.visibility import shown
from federation.as2 import with_context
from web import feeds, i18n
from web.negotiation import ActivityJSONResponse, wants_activity_json
from web.routes import common
from web.settings import Settings

FEED_LIMIT = 100


async def _report(request: Request) -> Report:
    node = common.node(request)
    async with node.db.read() as session:
        if "n" in request.path_params:
            report = await reports.received(session, request.path_params["n"])
        else:
            uri = f"{node.settings.base_url}/reports/{request.path_params['id']}"
            report = await reports.by_uri(session, uri)
        if report is not None and not shown(session, report):
            report = None  # from a blocked server: kept, but not shown
    if report is None:
        raise HTTPException(404, "No such report")
    return report


def item(report: Report, lang: str) -> dict[str, Any]:
    """What a listing shows of a report."""
    return {
        "report": report,
        "page": reports.page_path(report),
        "when": format_date(report.published_at.date(), format="long", locale=i18n.locale(lang)),
    }


async def report_page(request: Request) -> Response:
    node = common.node(request)
    report = await _report(request)
    templates = request.app.state.templates
    if report.deleted_at is not None:
        if wants_activity_json(request):
            # Gone, and saying so: servers that cached it drop it instead of retrying.
            gone = with_context(report_to_as.REPORT_CONTEXT, report_to_as.tombstone(report))
            return ActivityJSONResponse(gone, status_code=410)
        return templates.render(request, "report_gone.html", {"report": report}, status=410)
    if wants_activity_json(request):
        if not report.is_local:
            raise HTTPException(404, "This report is published by its own server")
        async with node.db.read() as session:
            actor = await actor_of(session, report.organization_id)
        document = report_to_as.article(node.settings.base_url, report, actor)
        return ActivityJSONResponse(with_context(report_to_as.REPORT_CONTEXT, document))
    async with node.db.read() as session:
        related = await reports.related_items(session, report)
        replies, reply_count = await reports.thread(session, report)
        boosts = await reports.boost_count(session, report)
    lang = i18n.language(request)
    # `?in=es` picks a version; else the reader's language if there is a translation into it.
    wanted = request.query_params.get("in") or lang
    shown_version = reports.version(report, wanted)
    others = [report.language, *report.translations] if report.language else []
    return templates.render(
        request,
        "report.html",
        {
            **item(report, lang),
            "version": shown_version,
            "versions": [
                {"code": code, "name": i18n.language_name(code, lang)}
                for code in others
                if code and code != shown_version.language
            ],
            "related": related,
            "original": report.url or report.uri,
            "image": reports.image_path(report),
            "replies": replies,
            "reply_count": reply_count,
            "boosts": boosts,
        },
    )


async def listing(request: Request) -> Response:
    lang = i18n.language(request)
    async with common.node(request).db.read() as session:
        found = await reports.latest(session, limit=200)
    return request.app.state.templates.render(
        request,
        "reports.html",
        {
            "own": [item(r, lang) for r in found if r.is_local],
            "received": [item(r, lang) for r in found if not r.is_local],
        },
    )


async def atom(request: Request) -> Response:
    """The newest reports this node shows, its own and received."""
    node = common.node(request)
    base = node.settings.base_url
    async with node.db.read() as session:
        found = await reports.latest(session, limit=FEED_LIMIT)
    body = feeds.reports_atom(
        [
            (report, base + reports.page_path(report) if not report.is_local else report.uri)
            for report in found
        ],
        feed_id=f"{base}/reports.atom",
        title=f"Reports — {node.settings.node_name}",
        self_url=f"{base}/reports.atom",
        alternate_url=f"{base}/reports",
    )
    return Response(body, media_type=feeds.ATOM_TYPE)


def image_directory(settings: Settings) -> Path:
    """Where our reports' images are kept: in the data directory, so backups carry them."""
    return settings.data_dir / "reports"


async def image(request: Request) -> Response:
    node = common.node(request)
    path = call.image_file(image_directory(node.settings), request.path_params["name"])
    if path is None:
        raise HTTPException(404, "No such image")
    # Named by its content: the same name is always the same bytes.
    return FileResponse(
        path,
        media_type=call.MEDIA_TYPES[path.suffix.lstrip(".")],
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


routes = [
    Route("/media/reports/{name}", image),
    Route("/reports", listing),
    Route("/reports.atom", atom),
    Route("/reports/remote/{n:int}", report_page),
    Route("/reports/{id}", report_page),
]
