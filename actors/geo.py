"""Distances on the Earth, and the box of latitudes and longitudes around a circle, so an index
on plain columns finds the candidates and the exact distance sorts them."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine): exact enough at every scale a person travels."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Box:
    """Latitudes min_lat..max_lat; longitudes in one range, or two when the circle crosses
    the 180th meridian (Fiji, Chukotka)."""

    min_lat: float
    max_lat: float
    lon_ranges: tuple[tuple[float, float], ...]


def box_around(lat: float, lon: float, radius_km: float) -> Box:
    """The smallest latitude/longitude box holding every point within `radius_km`."""
    angle = radius_km / EARTH_RADIUS_KM
    d_lat = math.degrees(angle)
    min_lat, max_lat = lat - d_lat, lat + d_lat
    if min_lat <= -90 or max_lat >= 90:
        # A pole inside the circle: every longitude.
        return Box(max(min_lat, -90.0), min(max_lat, 90.0), ((-180.0, 180.0),))
    # The widest point of the circle is not on its own parallel, but here (Matuschek).
    d_lon = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(lat)))))
    west, east = lon - d_lon, lon + d_lon
    if west < -180:
        return Box(min_lat, max_lat, ((west + 360, 180.0), (-180.0, east)))
    if east > 180:
        return Box(min_lat, max_lat, ((west, 180.0), (-180.0, east - 360)))
    return Box(min_lat, max_lat, ((west, east),))
