"""Words for the domain's codes, through gettext so they can be translated."""

from __future__ import annotations

from web.i18n import translate


def _(message: str) -> str:
    """Marks a word for the catalogs (`pybabel extract`); it is translated when shown."""
    return message


KIND_LABELS = {
    "demonstration": _("Demonstration"),
    "strike": _("Strike"),
    "picket": _("Picket"),
    "rally": _("Rally"),
    "march": _("March"),
    "online": _("Online action"),
    "other": _("Action"),
}
# Where an event happens when it has an online link: "Lisboa + online".
ONLINE = _("online")


def kind_label(kind: str, lang: str | None = None) -> str:
    """In `lang`, or in the language of the page being rendered."""
    return translate(KIND_LABELS.get(kind, KIND_LABELS["other"]), lang)
