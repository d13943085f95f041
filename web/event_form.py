"""An action's form as people fill it in (local date and time, a country, a time zone named
by country and city, coordinates as pasted from a map), read into an `events.EventInput`:
shared by the admin's form and the public /submit form. Every rule stays in `actors`."""

from __future__ import annotations

import re
from datetime import datetime

from actors import events
from actors.errors import Message, Problems

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
# "38.7077, -9.1365" as copied from a map, pasted whole into the latitude box.
PASTED_PAIR = re.compile(r"^\s*(-?\d+\.\d+)\s*[,;\s]\s*(-?\d+\.\d+)\s*$")
TEXT_FIELDS = (
    "title",
    "kind",
    "org",
    "starts",
    "ends",
    "timezone",
    "place_name",
    "street_address",
    "postal_code",
    "city",
    "country",
    "latitude",
    "longitude",
    "online_url",
    "tags",
    "description",
    "contact",
    "language",
    "agenda",
    "sections",
    "capacity",
    "solidarity_day_uri",
)


def _number(text: str) -> float:
    text = text.strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # 38,7077 as many countries write it
    return float(text)


def parse(
    values: dict[str, str], category: events.Category, description_format: str
) -> tuple[events.EventInput, Problems]:
    """The form's text as input for the domain, and what could not even be read."""
    problems = Problems()

    def moment(name: str, missing: Message) -> datetime | None:
        text = values[name].strip()
        if not text:
            problems.add(name, missing)
            return None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            problems.add(name, Message.DATETIME_UNREADABLE)
            return None
        return parsed.replace(tzinfo=None, second=0, microsecond=0)

    starts = moment("starts", Message.START_MISSING)
    ends = moment("ends", Message.END_MISSING)

    latitude_text, longitude_text = values["latitude"], values["longitude"]
    pasted = PASTED_PAIR.match(latitude_text)
    if pasted and not longitude_text.strip():
        latitude_text, longitude_text = pasted.group(1), pasted.group(2)
        values["latitude"], values["longitude"] = latitude_text, longitude_text
    coordinates: dict[str, float | None] = {}
    for name, text, unreadable in (
        ("latitude", latitude_text, Message.LATITUDE_UNREADABLE),
        ("longitude", longitude_text, Message.LONGITUDE_UNREADABLE),
    ):
        coordinates[name] = None
        if text.strip():
            try:
                coordinates[name] = _number(text)
            except ValueError:
                problems.add(name, unreadable)

    capacity: int | None = None
    if category == "assembly" and values["capacity"].strip():
        try:
            capacity = int(values["capacity"].strip())
        except ValueError:
            problems.add("capacity", Message.CAPACITY_UNREADABLE)

    online_url = values["online_url"].strip()
    if online_url and "://" not in online_url and "." in online_url and " " not in online_url:
        online_url = "https://" + online_url  # people type meet.jit.si/...

    data = events.EventInput(
        title=values["title"],
        kind=values["kind"] or "other",
        # A stand-in start lets the domain check the other fields; its own problem is ours.
        starts=starts or datetime(2000, 1, 1),
        ends=ends,
        timezone=values["timezone"],
        place_name=values["place_name"],
        street_address=values["street_address"],
        city=values["city"],
        postal_code=values["postal_code"],
        country=values["country"] or None,
        latitude=coordinates["latitude"],
        longitude=coordinates["longitude"],
        online_url=online_url or None,
        tags=[tag for tag in re.split(r"[\s,]+", values["tags"]) if tag],
        description=values["description"].strip(),
        description_format="html" if description_format == "html" else "markdown",
        contact=values["contact"],
        language=values["language"] or None,
        agenda=values["agenda"],
        sections=[s.strip() for s in re.split(r"[,\n]", values["sections"]) if s.strip()],
        capacity=capacity,
        solidarity_day_uri=values.get("solidarity_day_uri") or None,
    )
    return data, problems


def values_from(data: events.EventInput) -> dict[str, str]:
    return {
        "title": data.title,
        "kind": data.kind,
        "org": "",
        "starts": data.starts.strftime(DATETIME_LOCAL),
        "ends": data.ends.strftime(DATETIME_LOCAL) if data.ends else "",
        "timezone": data.timezone,
        "place_name": data.place_name or "",
        "street_address": data.street_address or "",
        "postal_code": data.postal_code or "",
        "city": data.city or "",
        "country": data.country or "",
        "latitude": "" if data.latitude is None else str(data.latitude),
        "longitude": "" if data.longitude is None else str(data.longitude),
        "online_url": data.online_url or "",
        "tags": " ".join(f"#{tag}" for tag in data.tags),
        "description": data.description,
        "contact": data.contact or "",
        "language": data.language or "",
        "agenda": data.agenda or "",
        "sections": ", ".join(data.sections),
        "capacity": "" if data.capacity is None else str(data.capacity),
        "solidarity_day_uri": data.solidarity_day_uri or "",
    }
