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


def place_label(candidate: Any, lang: str = "en") -> str:
    return ", ".join(nearby.label_parts(candidate, countries.name(candidate.country, lang)))


async def near(node: Node, args: argparse.Namespace) -> None:
    query = nearby.check(args.place, args.radius, country=args.country)
    if not await places.is_ready(node.db):
        # A command can wait for the table, which a page must not.
        print("Preparing the list of places, once (a few seconds)…", file=sys.stderr)
        await places.ready(node.db)
    found = await nearby.search(node.db, query)
    print(f"Within {query.radius_km} km of {place_label(found.place)}:")
    for event, km in found.items:
        online = " (also online)" if event.online_url else ""
        print(
            f"{km:7.1f} km  {event_text.when(event, event.language)}  {event.title}"
            f" — {event.origin_name or event.origin_host}{online}  {event.url or event.uri}"
        )
    if not found.items:
        print("Nothing announced there yet.")
    if found.others:
        print("Did you mean: " + "; ".join(place_label(c) for c in found.others))
    print("Places: GeoNames (CC-BY 4.0), https://www.geonames.org/")


def add_commands(sub: Any, with_node: Any) -> None:
    command = sub.add_parser("near", help="upcoming actions and assemblies near a place")
    command.add_argument("place", help='a city or town, e.g. Lisboa, München, "Paris, Texas"')
    command.add_argument("--radius", default=None, help="km, 10 to 500 (default 50)")
    command.add_argument("--country", help="two-letter code, e.g. PT")
    command.set_defaults(func=with_node(near))
