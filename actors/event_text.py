"""How an event reads in words: when and where, in the event's own time zone and language."""

from __future__ import annotations

import html
import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import (
    format_date,
    format_time,
    get_timezone_gmt,
    get_timezone_location,
    get_timezone_name,
)

from actors.models import Event
from actors.text import hashtags_html

DEFAULT_LOCALE = "en"


# Parsing a locale costs more than formatting a date with it, and a page formats fifty; bounded:
# the language comes from remote events too.
@lru_cache(maxsize=64)
def locale_for(language: str | None) -> Locale:
    try:
        return Locale.parse((language or DEFAULT_LOCALE).replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)


def when(event: Event, language: str | None = None) -> str:
    """'Saturday, May 1, 2027, 10:00 AM – 1:00 PM · Lisbon Time, Portugal'.

    Always in the event's own zone, named, so a reader elsewhere knows whose clock it is.
    """
    locale = locale_for(language or event.language)
    zone = ZoneInfo(event.timezone)
    start = event.starts_at.astimezone(zone)
    text = (
        f"{format_date(start, format='full', locale=locale)}, "
        f"{format_time(start, format='short', tzinfo=zone, locale=locale)}"
    )
    if event.ends_at is not None:
        end = event.ends_at.astimezone(zone)
        if end.date() == start.date():
            text += f" – {format_time(end, format='short', tzinfo=zone, locale=locale)}"
        else:
            text += (
                f" – {format_date(end, format='full', locale=locale)}, "
                f"{format_time(end, format='short', tzinfo=zone, locale=locale)}"
            )
    return f"{text} · {zone_name(event.timezone, start, locale)}"


def _is_utc(canonical: str) -> bool:
    if canonical in {"Etc/UTC", "Etc/GMT"}:
        return True
    # Etc/GMT+0, Etc/GMT-0, Etc/GMT0: the same clock under other names.
    return re.fullmatch(r"Etc/GMT[+-]?0", canonical) is not None


def zone_name(name: str, moment: datetime, locale: Locale) -> str:
    """Whose clock a time is on, in the reader's language: 'Lisbon Time, Portugal', 'Japan Time',
    'Coordinated Universal Time (UTC)', or the offset ('GMT+03:00') for a zone of no place.

    Babel's `get_timezone_location` says 'Unknown Region (UTC) Time' for UTC and, in German,
    'Portugal (Lissabon) (Ortszeit)': its country-and-city fallback puts parentheses inside a
    pattern that has its own. Naming the city in the pattern and the country after it, as CLDR
    itself now does for countries with several zones, reads right in every language.
    """
    canonical = get_global("zone_aliases").get(name, name)
    if _is_utc(canonical):
        long_name = get_timezone_name(
            "Etc/UTC", width="long", zone_variant="standard", locale=locale
        )
        return long_name if long_name == "UTC" else f"{long_name} (UTC)"
    territory = get_global("zone_territories").get(canonical)
    if not territory or territory in {"001", "ZZ"}:
        return get_timezone_gmt(moment, locale=locale)
    region = locale.zone_formats["region"]
    country = locale.territories.get(territory, territory)
    if len(get_global("territory_zones").get(territory, ())) <= 1:
        return region % country
    city = get_timezone_location(canonical, locale=locale, return_city=True)
    return f"{region % city}, {country}"


def where(event: Event, *, online_word: str = "online") -> str:
    """'Praça do Comércio, Lisboa', 'online', or both."""
    parts = [p for p in (event.place_name, event.city) if p]
    place = ", ".join(dict.fromkeys(parts))
    if event.online_url:
        return f"{place} + {online_word}" if place else online_word
    return place


def hashtags(event: Event) -> str:
    return " ".join(f"#{tag}" for tag in event.hashtags)


def summary(event: Event) -> str:
    """When, where and the hashtags as plain text (feeds, calendars, listings)."""
    lines = [when(event), where(event)]
    if event.status == "cancelled":
        lines.insert(0, "CANCELLED")
    tags = hashtags(event)
    if tags:
        lines.append(tags)
    return "\n".join(line for line in lines if line)


def summary_html(event: Event, base_url: str) -> str:
    """What Mastodon shows under the title of a converted Event: when, where, hashtags.

    Mastodon builds the post as `<h2>name</h2>`, this summary as HTML, and the link; it drops
    `content`. Hashtags are clickable there only as links whose text starts with '#'.
    """
    lines = [html.escape(when(event)), html.escape(where(event))]
    if event.status == "cancelled":
        lines.insert(0, "<strong>CANCELLED</strong>")
    text = "<p>" + "<br>".join(line for line in lines if line) + "</p>"
    if event.hashtags:
        text += f"<p>{hashtags_html(event.hashtags, base_url)}</p>"
    return text
