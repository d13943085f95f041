"""Alerts from other servers, as our domain: lenient in what we read, strict in what we keep.

A `Note` is an alert only when it says so (`alert: true`); its own fields carry title and
text, and the HTML `content` (what Mastodon shows) is only a fallback. Texts are cut to the
lengths our own alerts keep to, and unknown kinds, urgencies and statuses are dropped.
"""

from __future__ import annotations

from typing import Any

from actors import countries, hashtags
from actors.alerts import (
    ASK_KINDS,
    DEFAULT_LIFETIME,
    MAX_ASK,
    MAX_LINKS,
    MAX_ORIGIN_NAME,
    MAX_REGION,
    MAX_TAGS,
    MAX_TEXT,
    MAX_TITLE,
    STATUSES,
    URGENCIES,
)
from actors.text import plain_text, text_block
from actors.urls import http_url
from federation.as2 import first_id, parse_datetime
from federation.db import utcnow
from federation.uris import host_of


class NotAnAlert(ValueError):
    pass


def is_alert(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and document.get("type") == "Note"
        and (document.get("alert") is True or document.get("iwsn:alert") is True)
    )


def alert_fields(document: dict[str, Any]) -> dict[str, Any]:
    """Columns of `Alert` for a remote alert; raises NotAnAlert when it cannot be one."""
    uri = document.get("id")
    if http_url(uri) is None:
        raise NotAnAlert("the alert has no http(s) id")
    attributed = http_url(first_id(document.get("attributedTo")))
    if attributed is None or host_of(attributed) != host_of(uri):
        raise NotAnAlert("the alert is not attributed to an actor of its own server")
    country = text_block(document.get("country"), 2).upper()
    if not countries.known(country):
        raise NotAnAlert("the alert has no country")
    # Our own fields carry title and text; the HTML content is only what Mastodon shows.
    published = parse_datetime(document.get("published")) or utcnow()
    location = document.get("location")
    if not isinstance(location, dict):
        location = {}
    lat, lon = location.get("latitude"), location.get("longitude")
    latitude = longitude = None
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            latitude, longitude = float(lat), float(lon)
    names = []
    for tag in document.get("tag") or []:
        if isinstance(tag, dict) and tag.get("type") == "Hashtag":
            name = hashtags.normalize(str(tag.get("name", "")))
            if name:
                names.append(name[:64])
    links = [
        link
        for item in document.get("attachment") or []
        if isinstance(item, dict) and (link := http_url(item.get("href")))
    ][:MAX_LINKS]
    url = document.get("url")
    expires = parse_datetime(document.get("expires")) or published + DEFAULT_LIFETIME
    asks = [kind for kind in document.get("asks") or [] if kind in ASK_KINDS]
    status = document.get("alertStatus")
    language = None
    if isinstance(document.get("contentMap"), dict) and document["contentMap"]:
        language = str(next(iter(document["contentMap"])))[:16]
    return {
        "uri": uri,
        "url": http_url(url) or uri,
        "origin_actor_uri": attributed,
        "origin_host": host_of(uri),
        # The origin's own word about itself, as trustworthy as its actor document.
        "origin_name": text_block(document.get("originName"), MAX_ORIGIN_NAME) or None,
        "title": text_block(document.get("alertTitle"), MAX_TITLE) or _title_of(document),
        "text": text_block(document.get("alertText"), MAX_TEXT) or _plain(document),
        "country": country,
        "region": text_block(document.get("region"), MAX_REGION) or None,
        "latitude": latitude,
        "longitude": longitude,
        "ask_text": text_block(document.get("askText"), MAX_ASK),
        "asks": asks,
        "urgency": document.get("urgency") if document.get("urgency") in URGENCIES else "normal",
        "links": links,
        "hashtags": names[:MAX_TAGS],
        "language": language,
        "status": status if status in STATUSES else "active",
        "expires_at": expires,
        "published_at": published,
        "updated_at": parse_datetime(document.get("updated")) or published,
    }


def _plain(document: dict[str, Any]) -> str:
    content = document.get("content")
    return plain_text(content, MAX_TEXT) if isinstance(content, str) else ""


def _title_of(document: dict[str, Any]) -> str:
    content = document.get("content")
    if not isinstance(content, str):
        return "Solidarity alert"
    strong = ""
    if "<strong>" in content:
        strong = content.split("<strong>", 1)[1].split("</strong>", 1)[0]
    return plain_text(strong or content, MAX_TITLE) or "Solidarity alert"
