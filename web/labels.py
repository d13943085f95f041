"""Words for the domain's codes, through gettext so they can be translated."""

from __future__ import annotations

from typing import Any

from web.i18n import country_name, current, translate


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


# What an alert asks people to do, as the pages say it (the Note for Mastodon keeps English).
ASK_LABELS = {
    "messages": _("messages of solidarity"),
    "protests": _("protests at embassies or company sites"),
    "donations": _("donations to the strike fund"),
    "solidarity_strikes": _("solidarity strikes"),
}


def ask_label(kind: str) -> str:
    return translate(ASK_LABELS.get(kind, kind))


def alert_place(alert: Any) -> str:
    """ "Ashulia, Bangladesh", with the country named in the page's language."""
    country = country_name(alert.country, current())
    return f"{alert.region}, {country}" if alert.region else country


def alert_asked(alert: Any) -> str:
    """What is asked: the free text, then the kinds in the page's language."""
    kinds = ", ".join(ask_label(kind) for kind in alert.asks if kind in ASK_LABELS)
    if alert.ask_text and kinds:
        return f"{alert.ask_text} ({kinds})"
    return alert.ask_text or kinds


# What a contact message is about (actors.contact.TOPICS), as the form offers it.
TOPIC_LABELS = {
    "question": _("A question"),
    "idea": _("An idea or a proposal"),
    "press": _("Press and media"),
    "joining": _("Joining the network"),
    "other": _("Something else"),
}


def topic_label(topic: str) -> str:
    return translate(TOPIC_LABELS.get(topic, TOPIC_LABELS["other"]))


ORGANIZATION_KIND_LABELS = {
    "union": _("Union"),
    "workers_centre": _("Workers' centre"),
    "collective": _("Collective"),
    "party": _("Party"),
    "other": _("Other organization"),
}


def organization_kind_label(kind: str, lang: str | None = None) -> str:
    return translate(ORGANIZATION_KIND_LABELS.get(kind, ORGANIZATION_KIND_LABELS["other"]), lang)
