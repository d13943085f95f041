"""The shapes of `location` that real servers send, read into the same columns."""

from __future__ import annotations

from typing import Any

import pytest

from actors.as_to_event import event_fields


def event_with(location: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": "https://remote.example/events/1",
        "type": "Event",
        "name": "Picket",
        "startTime": "2027-05-01T10:00:00Z",
        "location": location,
        **extra,
    }


def place_of(location: Any, **extra: Any) -> tuple:
    fields = event_with(location, **extra)
    found = event_fields(fields)
    return (
        found["place_name"],
        found["street_address"],
        found["city"],
        found["latitude"],
        found["longitude"],
        found["online_url"],
    )


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        # Mobilizon: a typed Place with a PostalAddress.
        (
            {
                "type": "Place",
                "name": "Praça do Comércio",
                "address": {"type": "PostalAddress", "addressLocality": "Lisboa"},
                "latitude": 38.7077,
                "longitude": -9.1365,
            },
            ("Praça do Comércio", None, "Lisboa", 38.7077, -9.1365, None),
        ),
        # Gancio before 1.14: no type, the address as a line, coordinates as text.
        (
            {
                "name": "Piazza Maggiore",
                "address": "Bologna",
                "latitude": "44.49",
                "longitude": "11.34",
            },
            ("Piazza Maggiore", "Bologna", None, 44.49, 11.34, None),
        ),
        # Gancio, a place without coordinates (its database has them null).
        (
            {"name": "Cortile", "address": "Via Roma 1", "latitude": None, "longitude": None},
            ("Cortile", "Via Roma 1", None, None, None, None),
        ),
        # An address object without its type.
        (
            {"name": "Hall", "address": {"streetAddress": "Main St 1", "addressLocality": "Leeds"}},
            ("Hall", "Main St 1", "Leeds", None, None, None),
        ),
        # A bare string: the place's name, as Mobilizon reads it.
        ("Union hall", ("Union hall", None, None, None, None, None)),
        # A list: a virtual location and an untyped place, in any order.
        (
            [
                {"name": "Square", "address": "Town"},
                {"type": "VirtualLocation", "url": "https://stream.example/live"},
            ],
            ("Square", "Town", None, None, None, "https://stream.example/live"),
        ),
        # Gancio's online place: an address holding only a URL is a link, not a place.
        (
            {"name": "online", "address": {"url": "https://meet.example/room"}},
            (None, None, None, None, None, "https://meet.example/room"),
        ),
        # Several types, one of them Place.
        (
            {"type": ["Place", "sc:Place"], "name": "Dock 4"},
            ("Dock 4", None, None, None, None, None),
        ),
    ],
)
def test_the_location_shapes_real_servers_send(location, expected):
    assert place_of(location) == expected


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [("91", "10"), ("nan", "10"), ("inf", "-inf"), (True, False), ("1" * 40, "2"), ([1], {})],
)
def test_coordinates_that_are_not_coordinates_are_dropped(latitude, longitude):
    found = event_fields(event_with({"name": "X", "latitude": latitude, "longitude": longitude}))
    assert (found["place_name"], found["latitude"], found["longitude"]) == ("X", None, None)


@pytest.mark.parametrize(
    "location",
    [None, 42, [], [None, 3], {"type": "Note", "name": "not a place"}, {"foo": "bar"}, ""],
)
def test_no_place_is_made_of_what_is_not_one(location):
    assert place_of(location)[0] is None
