"""Jinja2 with gettext from the start: every string in a template is translatable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from actors.activitystreams import summary_html

TEMPLATES = Path(__file__).parent / "templates"
LOCALES = Path(__file__).parent / "locales"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    translations: NullTranslations = Translations.load(str(LOCALES), ["en"])
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    # summary_html escapes every piece of the text itself, so the result is safe markup.
    env.filters["paragraphs"] = lambda text: Markup(summary_html(text or ""))  # noqa: S704
    return env


class Templates:
    def __init__(self, globals_: dict[str, Any]) -> None:
        self.env = environment()
        self.env.globals.update(globals_)

    def render(
        self, request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
    ) -> HTMLResponse:
        values = {"request": request, **(context or {})}
        return HTMLResponse(self.env.get_template(name).render(values), status_code=status)
