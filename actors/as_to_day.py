"""Solidarity days from other servers, as our domain: the columns of a day read from its `Event`.

The date is taken as written, whatever the offset: a day is a calendar date on the declaring
node, not a moment. Both shapes iwsn nodes have sent are read: the UTC day without a flag
(before `allDay`), the same with `allDay: true`, and a bare date ("2027-03-08"). Texts are
cut to the lengths our own days keep to, HTML is sanitized.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from actors import hashtags
from actors.day_to_as import CATEGORY
from actors.solidarity_days import MAX_SLOGAN, MAX_THEME
from actors.text import sanitize_html, strip_controls
from actors.urls import http_url
from federation.remote_actors import first_id, host_of


class NotADay(ValueError):
    pass


def is_day(document: dict[str, Any]) -> bool:
    return document.get("type") == "Event" and document.get("eventCategory") == CATEGORY


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, str):
        value = " ".join(strip_controls(value).split())
        return value[:limit] or None
    return None


def _date(value: Any) -> date | None:
    """The calendar date of a startTime as written: a date-time with any offset, or a date."""
    if not isinstance(value, str) or not 10 <= len(value) <= 64:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def day_fields(document: dict[str, Any]) -> dict[str, Any]:
    """Columns of `SolidarityDay` for a remote day; raises NotADay when it cannot be one."""
    uri = document.get("id")
    if http_url(uri) is None:
        raise NotADay("the day has no http(s) id")
    day = _date(document.get("startTime"))
    if day is None:
        raise NotADay("the day has no valid startTime")
    theme = _text(document.get("theme"), MAX_THEME) or _text(document.get("name"), MAX_THEME)
    if not theme:
        raise NotADay("the day has no theme")
    hashtag = None
    for tag in document.get("tag") or []:
        if isinstance(tag, dict) and tag.get("type") == "Hashtag":
            hashtag = hashtags.normalize(str(tag.get("name", "")))
            if hashtag:
                break
    if not hashtag:
        raise NotADay("the day has no hashtag")
    content = document.get("content")
    url = document.get("url")
    attributed = http_url(first_id(document.get("attributedTo")))

    def stamp(value: Any) -> datetime | None:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except (AttributeError, ValueError):
            return None

    published = stamp(document.get("published")) or datetime.now(UTC)
    return {
        "uri": uri,
        "url": http_url(url) or uri,
        "origin_actor_uri": attributed or uri,
        "origin_host": host_of(uri),
        "day": day,
        "theme": theme,
        "slogan": _text(document.get("slogan"), MAX_SLOGAN) or "",
        "hashtag": hashtag[:64],
        "description_html": sanitize_html(content) if isinstance(content, str) else "",
        "published_at": published,
        "updated_at": stamp(document.get("updated")) or published,
    }
