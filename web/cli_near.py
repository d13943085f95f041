"""`iwsn near PLACE`: the upcoming actions and assemblies around a place, as `/near` lists them."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from web.lazy import lazy

nearby = lazy("actors.nearby")
event_text = lazy("actors.event_text")
countries = lazy("actors.countries")
places = lazy("actors.places")

if TYPE_CHECKING:
    from web.runtime import Node


def place_label(candidate: Any, lang: str = "en", called: str | None = None) -> str:
    return ", ".join(nearby.label_parts(candidate, countries.name(candidate.country, lang), called))


async def near(node: Node, args: argparse.Namespace) -> None:
    query = nearby.check(
        args.place,
        args.radius,
        country=args.country,
        lat=args.lat,
        lon=args.lon,
        kind=args.kind,
        starts_from=args.starts_from,
        starts_until=args.starts_until,
        day=args.day,
        online=args.online,
    )
    if not await places.is_ready(node.db):
        # A command can wait for the table, which a page must not.
        print("Preparing the list of places, once (a few seconds)…", file=sys.stderr)
        await places.ready(node.db)
    found = await nearby.search(node.db, query)
    where = place_label(found.place, called=found.called) if found.place else "your position"
    print(f"Within {query.radius_km} km of {where}:")
    for event, km in found.items:
        print(f"{km:7.1f} km  {_line(event)}{' (also online)' if event.online_url else ''}")
    if not found.items:
        print("Nothing announced there yet.")
    if found.more:
        print(f"Only the nearest {nearby.RESULT_LIMIT} are listed: narrow the search to see more.")
    if found.online:
        print("Online, from anywhere:")
        for event in found.online:
            print(f"   online  {_line(event)}")
    if found.others:
        print("Did you mean: " + "; ".join(place_label(c) for c in found.others))
    print("Places: GeoNames (CC-BY 4.0), https://www.geonames.org/")


def _line(event: Any) -> str:
    return (
        f"{event_text.when(event, event.language)}  {event.title}"
        f" — {event.origin_name or event.origin_host}  {event.url or event.uri}"
    )


def add_commands(sub: Any, with_node: Any) -> None:
    command = sub.add_parser("near", help="upcoming actions and assemblies near a place")
    command.add_argument(
        "place",
        nargs="?",
        default="",
        help='a city or town, e.g. Lisboa, München, "Paris, Texas" (or give --lat and --lon)',
    )
    command.add_argument("--radius", default=None, help="km, 10 to 500 (default 50)")
    command.add_argument("--country", help="two-letter code, e.g. PT")
    command.add_argument("--lat", help="search around a position instead: latitude")
    command.add_argument("--lon", help="and longitude, e.g. --lat 38.72 --lon -9.14")
    command.add_argument("--kind", help="action or assembly: only those")
    command.add_argument("--from", dest="starts_from", help="starting on or after, YYYY-MM-DD")
    command.add_argument("--to", dest="starts_until", help="starting on or before, YYYY-MM-DD")
    command.add_argument("--day", help="the events of a Monthly Solidarity Day, YYYY-MM-DD")
    command.add_argument(
        "--online",
        default="include",
        help="include (online events too; the default), only (online only), in_person",
    )
    command.set_defaults(func=with_node(near))
