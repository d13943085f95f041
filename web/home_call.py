"""The call shipped with the node: one Markdown file per language, beside its catalog.

`web/locales/<lang>/call.md` is where a translator finds it (English too, in
`web/locales/en/`). The admin's own text for a language replaces that language's file
(`actors.call`); a language with neither reads the English one.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from actors.text import description_html
from web import i18n
from web.settings import Settings

CALLS = Path(__file__).parent / "locales"
FILE = "call.md"


def default_path(lang: str) -> Path:
    path = CALLS / lang / FILE
    return path if path.is_file() else CALLS / i18n.DEFAULT / FILE


@cache
def default_markdown(lang: str) -> str:
    return default_path(lang).read_text(encoding="utf-8")


@cache
def default_html(lang: str) -> str:
    """Sanitized like any text: the shipped files are ours, but a translator's slip is not."""
    return description_html(default_markdown(lang), format="markdown")


def image_directory(settings: Settings) -> Path:
    """Where the call's image is kept: in the data directory, so backups carry it."""
    return settings.data_dir / "call"
