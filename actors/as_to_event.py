"""Events from other servers, as our domain: lenient in what we read, strict in what we keep.

Mobilizon, Gancio, Friendica and iwsn nodes shape `Event` differently (one Place or a list of
Place and VirtualLocation, a Place with or without its type, an address object or a string,
coordinates as numbers or text, Friendica's `[map]` BBCode in a place's name, hashtags with or
without '#'); everything becomes the same columns, with HTML sanitized and numbers checked.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from actors import hashtags, places
from actors.events import KINDS, known_timezones
from actors.text import one_line, sanitize_html
from actors.urls import http_url
from federation.as2 import datetime_as_written, first_id, parse_datetime
from federation.uris import host_of


class NotAnEvent(ValueError):
    pass


def _zone_name(document: dict[str, Any], start: Any) -> str:
    declared = document.get("timezone")
    if isinstance(declared, str) and declared in known_timezones():
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
    """A coordinate given as a number or as text ("44.4938", as some Gancio databases return
    and Friendica always sends), or as JSON-LD's {"@value": ...}."""
    if isinstance(value, dict) and set(value) <= {"@value", "@type"}:
        value = value.get("@value")
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


def _coordinates(latitude: Any, longitude: Any) -> tuple[float, float] | None:
    """Both coordinates or neither. 0,0 is a default some servers fill in, not a place: nothing
    is organized at sea off Africa, and Friendica treats "0" as no coordinate too."""
    lat, lon = _number(latitude, -90, 90), _number(longitude, -180, 180)
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None
    return lat, lon


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


def _locations(value: Any) -> tuple[list[dict[str, Any]], str | None]:
    """(the places, in order, and the first online link) of one location or a list of them.

    Real servers send a typed `Place`, an untyped object (Gancio before 1.14), a bare string
    (Mobilizon reads one as the place's name), or a list mixing places and virtual locations.
    """
    found: list[dict[str, Any]] = []
    online = None
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            found.append({"name": item})
            continue
        if not isinstance(item, dict):
            continue
        link = _online(item)
        if link is not None:
            online = online or link
        elif _is_place(item):
            found.append(item)
    return found, online


# Friendica writes an event's place as free text in which `[map]address[/map]` asks for a map
# of an address and `[map=lat,lon]` of a point (src/Model/Event.php, locationToTemplateVars),
# and sends that text as the Place's `name` (src/Protocol/ActivityPub/Transmitter.php,
# createLocation). Other BBCode a person may type there is markup, not part of the name; only
# its lowercase tags, as Friendica writes them, so that a place called "Hall [B]" keeps its name.
_MAP_ADDRESS = re.compile(r"\[map\](.*?)\[/map\]", re.DOTALL)
_MAP_POINT = re.compile(r"\[map=([^\]]*)\]")
_BBCODE = re.compile(r"\[/?(?:map|b|i|u|s|url|color|size|font)(?:=[^\]]*)?\]")


def _bbcode_place(text: str) -> tuple[str, str | None, tuple[float, float] | None]:
    """(name, address, point) from a place name that may hold Friendica's map BBCode."""
    address = point = None
    if found := _MAP_ADDRESS.search(text):
        address = _BBCODE.sub(" ", found.group(1))
        text = text.replace(found.group(0), " ")
    elif found := _MAP_POINT.search(text):
        parts = re.split(r"[\s,/]+", found.group(1).strip())
        if len(parts) == 2:
            point = _coordinates(*parts)
        text = text.replace(found.group(0), " ")
    return _BBCODE.sub(" ", text), address, point


def _country(value: Any) -> str | None:
    """An ISO code when the country is known by its code or its name in a language servers
    write ("Portugal", "Deutschland"), so a city is placed in it and pages name it in their
    own language; else the text as sent."""
    text = one_line(value, 64)
    if text is None:
        return None
    return places.country_code(text) or text


def _place_fields(place: dict[str, Any]) -> dict[str, Any]:
    """The columns one place gives: its name (whatever names it), address and coordinates."""
    raw_name = place.get("name")
    name = bb_address = None
    bb_point = None
    if isinstance(raw_name, str):
        name, bb_address, bb_point = _bbcode_place(raw_name)
    fields: dict[str, Any] = {"place_name": one_line(name, 300)}
    address = place.get("address")
    if isinstance(address, str):  # Gancio: one line of text
        fields["street_address"] = one_line(address, 300)
    elif isinstance(address, dict):  # Mobilizon: a PostalAddress, with nulls where unknown
        fields.update(
            street_address=one_line(address.get("streetAddress"), 300),
            city=one_line(address.get("addressLocality"), 200),
            postal_code=one_line(address.get("postalCode"), 32),
            country=_country(address.get("addressCountry")),
        )
        # addressRegion is not kept: no column holds it, and the country places a city.
    if not fields.get("street_address") and bb_address:
        fields["street_address"] = one_line(bb_address, 300)
    point = _coordinates(place.get("latitude"), place.get("longitude")) or bb_point
    if point is not None:
        fields["latitude"], fields["longitude"] = point
    # A place without a name (Mobilizon's is optional) is shown by its address.
    if not fields["place_name"]:
        fields["place_name"] = fields.get("street_address") or fields.get("city")
    return {key: value for key, value in fields.items() if value is not None}


def _first_usable(found: list[dict[str, Any]]) -> dict[str, Any]:
    """The columns of the first place that says where: a name, an address or coordinates.
    One that carries none of these (`{"type": "Place"}`, only garbage coordinates) gives way
    to the next."""
    for place in found:
        if fields := _place_fields(place):
            return fields
    return {}


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
    found, online = _locations(document.get("location"))
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
    fields.update(_first_usable(found))
    published = parse_datetime(document.get("published"))
    updated = parse_datetime(document.get("updated"))
    if published:
        fields["published_at"] = published
    fields["updated_at"] = updated or published or datetime.now(UTC)
    return fields
