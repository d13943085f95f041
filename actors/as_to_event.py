"""Events from other servers, as our domain: lenient in what we read, strict in what we keep.

Mobilizon, Gancio and iwsn nodes shape `Event` differently (one Place or a list of Place and
VirtualLocation, an address object or a string, hashtags with or without '#'); everything
becomes the same columns, with HTML sanitized and numbers checked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from actors import hashtags
from actors.events import KINDS
from actors.text import one_line, sanitize_html
from actors.urls import http_url
from federation.as2 import datetime_as_written, first_id, parse_datetime
from federation.uris import host_of


class NotAnEvent(ValueError):
    pass


def _zone_name(document: dict[str, Any], start: Any) -> str:
    declared = document.get("timezone")
    if isinstance(declared, str) and declared in available_timezones():
        return declared
    # Only an offset is known: keep local times right with a fixed-offset zone when whole hours.
    written = datetime_as_written(start)
    if written is not None:
        offset = written.utcoffset()
        if offset is not None and offset.total_seconds() % 3600 == 0:
            hours = int(offset.total_seconds() // 3600)
            if hours == 0:
                return "UTC"
            return f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"
    return "UTC"


def _number(value: Any, low: float, high: float) -> float | None:
    """A coordinate given as a number or as text ("44.4938", as some Gancio databases return)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and len(value) > 32:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    # float() also takes "nan" and "inf", which no comparison keeps inside the range.
    return number if low <= number <= high else None


def _http_url(value: Any) -> str | None:
    url = first_id(value) if not isinstance(value, str) else value
    if isinstance(value, dict) and isinstance(value.get("href"), str):
        url = value["href"]
    return http_url(url)


def _types(item: dict[str, Any]) -> set[str]:
    kind = item.get("type")
    if isinstance(kind, list):
        return {k for k in kind if isinstance(k, str)}
    return {kind} if isinstance(kind, str) else set()


def _online(item: dict[str, Any]) -> str | None:
    """The link of a VirtualLocation, a Link, or a Place whose address is a URL (Gancio)."""
    kinds = _types(item)
    if "VirtualLocation" in kinds:
        return _http_url(item.get("url"))
    if "Link" in kinds:
        return _http_url(item)
    address = item.get("address")
    if isinstance(address, dict) and "url" in address:
        return _http_url(address.get("url"))
    return None


def _is_place(item: dict[str, Any]) -> bool:
    """A Place, or what Gancio before 1.14 sends: no type, a name, an address, coordinates."""
    kinds = _types(item)
    if kinds:
        return "Place" in kinds
    return any(item.get(key) for key in ("name", "address", "latitude", "longitude"))


def _locations(value: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(the first place, the first online link) of one location or a list of them.

    Real servers send a typed `Place`, an untyped object (Gancio before 1.14), a bare string
    (Mobilizon reads one as the place's name), or a list mixing places and virtual locations.
    """
    place = online = None
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str) and place is None and one_line(item, 300):
            place = {"name": item}
            continue
        if not isinstance(item, dict):
            continue
        link = _online(item)
        if link is not None:
            online = online or link
        elif place is None and _is_place(item):
            place = item
    return place, online


def _address(place: dict[str, Any]) -> dict[str, Any]:
    address = place.get("address")
    if isinstance(address, str):  # Gancio: one line of text
        return {"street_address": one_line(address, 300)}
    if not isinstance(address, dict):
        return {}
    country = one_line(address.get("addressCountry"), 64)
    return {
        "street_address": one_line(address.get("streetAddress"), 300),
        "city": one_line(address.get("addressLocality"), 200),
        "postal_code": one_line(address.get("postalCode"), 32),
        "country": country,
    }


def _hashtags(value: Any) -> list[str]:
    found: list[str] = []
    for tag in value if isinstance(value, list) else [value]:
        if isinstance(tag, dict) and tag.get("type") == "Hashtag":
            name = hashtags.normalize(str(tag.get("name", "")))
            if name and name.lower() not in {t.lower() for t in found}:
                found.append(name)
    return found[:30]


def _cancelled(document: dict[str, Any]) -> bool:
    status = str(document.get("eventStatus") or "")
    return status.endswith("EventCancelled") or document.get("status") == "CANCELLED"


def _language(document: dict[str, Any]) -> str | None:
    declared = document.get("inLanguage")
    if isinstance(declared, str):
        return declared[:16]
    content_map = document.get("contentMap")
    if isinstance(content_map, dict) and content_map:
        return str(next(iter(content_map)))[:16]
    return None


def event_fields(document: dict[str, Any]) -> dict[str, Any]:
    """Columns of `Event` for a remote AS2 Event; raises NotAnEvent when it cannot be one."""
    if document.get("type") != "Event":
        raise NotAnEvent(f"not an Event but {document.get('type')!r}")
    uri = document.get("id")
    if http_url(uri) is None:
        raise NotAnEvent("the event has no http(s) id")
    title = one_line(document.get("name"), 300)
    if not title:
        raise NotAnEvent("the event has no name")
    zone_name = _zone_name(document, document.get("startTime"))
    zone = ZoneInfo(zone_name)
    # Times without an offset are in the event's own zone (UTC unless it names one).
    starts_at = parse_datetime(document.get("startTime"), naive_zone=zone)
    if starts_at is None:
        raise NotAnEvent("the event has no valid startTime")
    ends_at = parse_datetime(document.get("endTime"), naive_zone=zone)
    if ends_at is not None and ends_at < starts_at:
        ends_at = None
    place, online = _locations(document.get("location"))
    for attachment in document.get("attachment") or []:
        if online is None and isinstance(attachment, dict) and attachment.get("type") == "Link":
            online = _http_url(attachment)
    attributed = http_url(first_id(document.get("attributedTo")))
    content = document.get("content")
    kind = document.get("kind")
    capacity = document.get("maximumAttendeeCapacity")
    fields: dict[str, Any] = {
        "uri": uri,
        "url": _http_url(document.get("url")) or uri,
        "category": "assembly" if document.get("eventCategory") == "assembly" else "action",
        "kind": kind if kind in KINDS else "other",
        "origin_actor_uri": attributed or uri,
        "origin_host": host_of(uri),
        "title": title,
        "description_html": sanitize_html(content) if isinstance(content, str) else "",
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": zone_name,
        "online_url": online,
        "hashtags": _hashtags(document.get("tag")),
        "status": "cancelled" if _cancelled(document) else "scheduled",
        "language": _language(document),
        "capacity": capacity if isinstance(capacity, int) and capacity > 0 else None,
        "agenda": one_line(document.get("agenda"), 20_000),
        "solidarity_day_uri": _http_url(document.get("solidarityDay")),
        "place_name": None,
        "street_address": None,
        "city": None,
        "postal_code": None,
        "country": None,
        "latitude": None,
        "longitude": None,
    }
    if place is not None:
        fields["place_name"] = one_line(place.get("name"), 300)
        fields.update({k: v for k, v in _address(place).items() if v})
        latitude = _number(place.get("latitude"), -90, 90)
        longitude = _number(place.get("longitude"), -180, 180)
        if latitude is not None and longitude is not None:
            fields["latitude"], fields["longitude"] = latitude, longitude
    published = parse_datetime(document.get("published"))
    updated = parse_datetime(document.get("updated"))
    if published:
        fields["published_at"] = published
    fields["updated_at"] = updated or published or datetime.now(UTC)
    return fields
