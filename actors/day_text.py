"""How a solidarity day reads in words: its date, and what Mastodon shows under its name.

Below both the rules (`actors.solidarity_days`) and the `Event` builder (`actors.day_to_as`),
so the builder can word a day without importing the module that publishes through it.
"""

from __future__ import annotations

import html

from babel.dates import format_date

from actors.models import SolidarityDay
from actors.text import hashtags_html


def when(day: SolidarityDay) -> str:
    return format_date(day.day, format="full", locale="en")


def summary_html(day: SolidarityDay, base_url: str) -> str:
    """What Mastodon shows under the name: the date, theme, slogan and the hashtag link."""
    return (
        f"<p>Monthly Workers Solidarity Day · {html.escape(when(day))}</p>"
        f"<p>Theme: {html.escape(day.theme)}<br>“{html.escape(day.slogan)}”</p>"
        f"<p>{hashtags_html([day.hashtag], base_url)}</p>"
    )
