"""What route modules share: the node serving the request, how an event reads on a page, and
the pieces of the admin forms (their text, their lists to choose from)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import get_timezone_location
from starlette.requests import Request

from actors import countries, event_text, events
from actors.models import Event, Organization
from actors.organizations import all_organizations
from federation.models import LocalActor
from web import i18n
from web.labels import ONLINE
from web.runtime import Node


def node(request: Request) -> Node:
    return request.app.state.node


async def organizations(node: Node) -> list[tuple[Organization, LocalActor]]:
    async with node.db.read() as session:
        return await all_organizations(session)


# --- events on pages ----------------------------------------------------------------------


def event_view(event: Event, lang: str | None = None) -> dict[str, object]:
    """What templates show of an event, already in its own time zone and words: the date in
    the event's language, or else the page's (`lang`); names of countries in the page's."""
    zone = ZoneInfo(event.timezone)
    map_url = None
    if event.latitude is not None and event.longitude is not None:
        map_url = (
            f"https://www.openstreetmap.org/?mlat={event.latitude:.5f}&mlon={event.longitude:.5f}"
            f"#map=16/{event.latitude:.5f}/{event.longitude:.5f}"
        )
    return {
        "when": event_text.when(event, event.language or lang),
        "where": event_text.where(event, online_word=i18n.translate(ONLINE, lang or i18n.DEFAULT)),
        "starts_local": event.starts_at.astimezone(zone),
        "map_url": map_url,
        "address": ", ".join(
            part
            for part in (
                event.street_address,
                event.postal_code,
                event.city,
                i18n.country_name(event.country, lang or i18n.DEFAULT) if event.country else None,
            )
            if part
        ),
    }


async def upcoming_items(
    node: Node, *, organization_id: int | None = None, limit: int = 200, lang: str | None = None
) -> list[dict[str, Any]]:
    """Events not over yet (own and followed), soonest first, with what the listing shows."""
    async with node.db.read() as session:
        found = await events.upcoming(session, organization_id=organization_id, limit=limit)
    return [{"event": event, "view": event_view(event, lang)} for event in found]


# --- admin forms --------------------------------------------------------------------------


def form_text(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


def with_current(options: list[tuple[str, str]], value: str) -> list[tuple[str, str]]:
    """Keep a value the list lacks (a zone alias given on the command line) selectable."""
    if value and value not in {code for code, _label in options}:
        return [(value, value), *options]
    return options


def _zone_table() -> str:
    try:
        return (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        pass
    system = Path("/usr/share/zoneinfo/zone.tab")
    return system.read_text(encoding="utf-8") if system.exists() else ""


def _city(zone: str, lang: str) -> str:
    try:
        city = get_timezone_location(zone, lang, return_city=True)
    except (LookupError, ValueError):
        city = zone
    return city.rsplit("/", 1)[-1].replace("_", " ")


@cache
def timezone_options(lang: str = "en") -> list[tuple[str, str]]:
    """(IANA name, "Country — City") for every zone people live in, by country.

    Labelled by country first: in a select, typing "Por" jumps to Portugal, and someone in
    Porto need not know that their clocks are Lisbon's.
    """
    known = events.known_timezones()
    options: list[tuple[str, str]] = []
    for line in _zone_table().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 3 or parts[2] not in known:
            continue
        code, zone = parts[0], parts[2]
        options.append((zone, f"{countries.name(code, lang)} — {_city(zone, lang)}"))
    if not options:
        # No zone table: group the names as they are.
        options = [
            (zone, zone.replace("_", " ").replace("/", " — "))
            for zone in known
            if "/" in zone and not zone.startswith(("Etc/", "SystemV/"))
        ]
    options.sort(key=lambda pair: countries.sort_key(pair[1]))
    options.append(("UTC", "UTC — Coordinated Universal Time"))
    return options


@cache
def language_options(lang: str = "en") -> list[tuple[str, str]]:
    names = Locale.parse(lang).languages
    return sorted(
        ((code, name) for code, name in names.items() if len(code) == 2),
        key=lambda pair: countries.sort_key(pair[1]),
    )
