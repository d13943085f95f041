"""Jinja2 with gettext from the start: every string in a template is translatable.

Each page is rendered in the visitor's language (`web.i18n`): the template's `_()` and
`ngettext()` read the translations of the page being rendered, so one environment serves
every language at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from actors.activitystreams import summary_html
from actors.text import strip_controls
from actors.urls import http_url
from web import i18n

TEMPLATES = Path(__file__).parent / "templates"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    # summary_html escapes every piece of the text itself, so the result is safe markup.
    # Remote documents choose URLs: only http(s) ones may become links (actors/urls.py).
    env.filters["http_url"] = http_url
    env.filters["paragraphs"] = lambda text: Markup(summary_html(text or ""))  # noqa: S704
    # Names and titles people and servers chose: without bidi overrides and zero-width
    # characters (rows stored before these were stripped on arrival may hold them), and in
    # <bdi> so a right-to-left name cannot reorder the words around it.
    env.filters["clean"] = lambda value: strip_controls(str(value))
    env.filters["bdi"] = lambda value: Markup("<bdi>{}</bdi>").format(strip_controls(str(value)))
    return env


class Templates:
    def __init__(self, globals_: dict[str, Any]) -> None:
        self.env = environment()
        self.env.globals.update(globals_)
        i18n.catalogs()  # read and compile the catalogs now, not on the first page

    def render(
        self, request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
    ) -> HTMLResponse:
        lang = i18n.language(request)
        values = {
            "request": request,
            "lang": lang,
            # Not "languages": forms use that name for a list of languages to choose from.
            "language_switcher": i18n.switcher(request),
            **(context or {}),
        }
        with i18n.active(lang):
            page = self.env.get_template(name).render(values)
        response = HTMLResponse(page, status_code=status)
        if request.scope.get("session"):
            # The page was made for this session (an admin's links, a CSRF token): not for
            # any cache to hand to someone else.
            response.headers["Cache-Control"] = "no-store"
        i18n.finish(request, response)
        return response
