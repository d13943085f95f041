"""The map beside the results of /near: what its script (web/static/near.js) draws.

The list is the page; the map repeats it for the eye. The template hands the script one
data attribute per page, the points of the list in its order, so a marker can lead back to
its list item; nothing of the map is fetched, and without a script nothing of it shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from actors.text import strip_controls


def points(results: Iterable[Mapping[str, Any]]) -> list[list[object]]:
    """[position in the list, latitude, longitude, title, distance] of each result that has
    a place (an online-only one has none): what the markers show and lead back to."""
    found: list[list[object]] = []
    for index, item in enumerate(results):
        event = item["event"]
        latitude, longitude = event.geo_latitude, event.geo_longitude
        if latitude is None or longitude is None:
            continue
        found.append(
            [
                index,
                round(latitude, 5),
                round(longitude, 5),
                strip_controls(event.title),
                str(item.get("distance") or ""),
            ]
        )
    return found
