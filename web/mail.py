"""Mail worded like pages: templates in web/templates/mail/, words from the same catalogs.

Each mail is two templates, `mail/NAME.txt` and `mail/NAME.html`, rendered in the recipient's
language. The text template sets `subject` at its top (`{% set subject = _("…") %}`); the HTML
one extends mail/_layout.html. Values people typed are escaped in the HTML and kept as they
are in the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment

from actors.mail.queue import Rendered
from web import i18n
from web.labels import topic_label
from web.templating import environment


class MailTemplates:
    def __init__(self, node_name: str, base_url: str) -> None:
        self.env: Environment = environment()
        self.env.globals.update(
            {"node_name": node_name, "base_url": base_url, "topic_label": topic_label}
        )

    def __call__(self, template: str, language: str, context: Mapping[str, Any]) -> Rendered:
        lang = language if language in i18n.catalogs() else i18n.DEFAULT
        values = {"lang": lang, **context}
        with i18n.active(lang):
            text = self.env.get_template(f"mail/{template}.txt").make_module(values)
            html = self.env.get_template(f"mail/{template}.html").render(values)
        subject = " ".join(str(getattr(text, "subject", "")).split())
        return Rendered(subject=subject, text=str(text).strip() + "\n", html=html)
