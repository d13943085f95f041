"""Words for the domain's codes, through gettext so they can be translated."""

from __future__ import annotations

from gettext import gettext as _

KIND_LABELS = {
    "demonstration": _("Demonstration"),
    "strike": _("Strike"),
    "picket": _("Picket"),
    "rally": _("Rally"),
    "march": _("March"),
    "online": _("Online action"),
    "other": _("Action"),
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, KIND_LABELS["other"])
