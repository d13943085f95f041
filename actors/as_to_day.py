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
from actors.text import one_line, sanitize_html
from actors.urls import http_url
from federation.as2 import datetime_as_written, first_id, parse_datetime
from federation.uris import host_of


class NotADay(ValueError):
    pass


def is_day(document: dict[str, Any]) -> bool:
    return document.get("type") == "Event" and document.get("eventCategory") == CATEGORY


def _date(value: Any) -> date | None:
    """The calendar date of a startTime as written: a date-time with any offset, or a date."""
    # Shorter than "2027-03-08" is no xsd date, though Python reads "20270308" as one.
    if not isinstance(value, str) or len(value) < 10:
        return None
    written = datetime_as_written(value)
    return written.date() if written is not None else None


def day_fields(document: dict[str, Any]) -> dict[str, Any]:
    """Columns of `SolidarityDay` for a remote day; raises NotADay when it cannot be one."""
    uri = document.get("id")
    if http_url(uri) is None:
        raise NotADay("the day has no http(s) id")
    day = _date(document.get("startTime"))
    if day is None:
        raise NotADay("the day has no valid startTime")
    theme = one_line(document.get("theme"), MAX_THEME) or one_line(document.get("name"), MAX_THEME)
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
    published = parse_datetime(document.get("published")) or datetime.now(UTC)
    return {
        "uri": uri,
        "url": http_url(url) or uri,
        "origin_actor_uri": attributed or uri,
        "origin_host": host_of(uri),
        "day": day,
        "theme": theme,
        "slogan": one_line(document.get("slogan"), MAX_SLOGAN) or "",
        "hashtag": hashtag[:64],
        "description_html": sanitize_html(content) if isinstance(content, str) else "",
        "published_at": published,
        "updated_at": parse_datetime(document.get("updated")) or published,
    }
