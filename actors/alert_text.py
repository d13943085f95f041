"""How an alert reads in words: where it is, what it asks, and the short post Mastodon shows.

Below both the rules (`actors.alerts`) and the `Note` builder (`actors.alert_to_as`), so
the builder can word an alert without importing the module that publishes through it.
"""

from __future__ import annotations

import html

from actors import countries
from actors.models import Alert
from actors.text import hashtags_html

ASK_LABELS = {
    "messages": "messages of solidarity",
    "protests": "protests at embassies or company sites",
    "donations": "donations to the strike fund",
    "solidarity_strikes": "solidarity strikes",
}
# Mastodon's habit: a post of 500 characters. The page carries the rest.
NOTE_BUDGET = 500


def where(alert: Alert) -> str:
    country = countries.name(alert.country)
    return f"{alert.region}, {country}" if alert.region else country


def asked(alert: Alert) -> str:
    kinds = ", ".join(ASK_LABELS[kind] for kind in alert.asks if kind in ASK_LABELS)
    if alert.ask_text and kinds:
        return f"{alert.ask_text} ({kinds})"
    return alert.ask_text or kinds


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "…"


def content_html(alert: Alert, base_url: str) -> str:
    """What Mastodon shows: title, place, text, what is asked, links, hashtags.

    The text is shortened (with a link to the whole alert) to keep the visible post within
    about 500 characters.
    """
    status = ""
    if alert.status == "resolved":
        status = "RESOLVED · "
    elif alert.urgency == "urgent":
        status = "URGENT · "
    head = f"{status}{alert.title} — {where(alert)}"
    ask = asked(alert)
    tags = " ".join(f"#{tag}" for tag in alert.hashtags)
    fixed = len(head) + len(ask) + len(tags) + sum(min(len(link), 30) for link in alert.links)
    room = max(NOTE_BUDGET - fixed - 20, 120)
    text = _shorten(" ".join(alert.text.split()), room)
    parts = [
        f"<p>{html.escape(status)}<strong>{html.escape(alert.title)}</strong>"
        f" — {html.escape(where(alert))}</p>",
        f"<p>{html.escape(text)}</p>",
    ]
    if ask:
        parts.append(f"<p>Asked: {html.escape(ask)}</p>")
    links = list(alert.links)
    if text != " ".join(alert.text.split()):
        links.append(alert.url or alert.uri)
    if links:
        anchors = "<br>".join(
            f'<a href="{html.escape(link)}" rel="nofollow noopener">{html.escape(link)}</a>'
            for link in links
        )
        parts.append(f"<p>{anchors}</p>")
    if alert.hashtags:
        parts.append(f"<p>{hashtags_html(alert.hashtags, base_url)}</p>")
    return "".join(parts)
