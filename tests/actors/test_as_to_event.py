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


def columns(location: Any) -> dict[str, Any]:
    found = event_fields(event_with(location))
    keys = ("place_name", "street_address", "city", "postal_code", "country")
    return {k: found[k] for k in (*keys, "latitude", "longitude") if found[k] is not None}


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        # Mobilizon, lib/federation/activity_stream/converter/address.ex (model_to_as): the name
        # is the address's optional description, every PostalAddress field may be null, the
        # country is the geocoder's name for it, coordinates floats only when geocoded.
        (
            {
                "type": "Place",
                "name": None,
                "id": "https://mobilizon.example/address/1",
                "address": {
                    "type": "PostalAddress",
                    "streetAddress": "Wilhelm-Leuschner-Straße 69",
                    "postalCode": "60329",
                    "addressLocality": "Frankfurt am Main",
                    "addressRegion": "Hessen",
                    "addressCountry": "Deutschland",
                },
                "latitude": 50.1067,
                "longitude": 8.6683,
            },
            {
                "place_name": "Wilhelm-Leuschner-Straße 69",
                "street_address": "Wilhelm-Leuschner-Straße 69",
                "city": "Frankfurt am Main",
                "postal_code": "60329",
                "country": "DE",
                "latitude": 50.1067,
                "longitude": 8.6683,
            },
        ),
        # Mobilizon, an address of a city alone: its name shows.
        (
            {
                "type": "Place",
                "address": {
                    "type": "PostalAddress",
                    "streetAddress": None,
                    "addressLocality": "Porto",
                    "addressCountry": "Portugal",
                },
            },
            {"place_name": "Porto", "city": "Porto", "country": "PT"},
        ),
        # A country as a code, or one nobody can name: the code, or the text as sent.
        (
            {"name": "Hall", "address": {"addressLocality": "Leeds", "addressCountry": "gb"}},
            {"place_name": "Hall", "city": "Leeds", "country": "GB"},
        ),
        (
            {"name": "Hall", "address": {"addressCountry": "Atlantis"}},
            {"place_name": "Hall", "country": "Atlantis"},
        ),
        # Gancio, server/api/models/place.js (toAP): the address one line, coordinates only when
        # set (FLOAT columns; text from some databases).
        (
            {"id": "https://gancio.example/federation/p/3", "type": "Place", "name": "XM24",
             "address": "Via Fioravanti 24, Bologna", "latitude": 44.5106, "longitude": 11.3482},
            {"place_name": "XM24", "street_address": "Via Fioravanti 24, Bologna",
             "latitude": 44.5106, "longitude": 11.3482},
        ),
        # Friendica, src/Protocol/ActivityPub/Transmitter.php (createLocation): the typed text
        # as the name, [map] BBCode and all (src/Model/Event.php reads it so); coordinates as
        # strings split from "lat lon".
        (
            {"type": "Place", "name": "Volkshaus [map]Hauptstraße 5, Jena[/map]",
             "latitude": "50.9271", "longitude": "11.5892"},
            {"place_name": "Volkshaus", "street_address": "Hauptstraße 5, Jena",
             "latitude": 50.9271, "longitude": 11.5892},
        ),
        (
            {"type": "Place", "name": "[b]Werkstor[/b] [map=50.9,11.58]"},
            {"place_name": "Werkstor", "latitude": 50.9, "longitude": 11.58},
        ),
        (
            {"type": "Place", "name": "[map]Jena[/map]"},
            {"place_name": "Jena", "street_address": "Jena"},
        ),
        # JSON-LD's value objects, as an expanding server may pass them on.
        (
            {"type": "Place", "name": "Dock", "latitude": {"@value": "53.54"},
             "longitude": {"@value": 9.98}},
            {"place_name": "Dock", "latitude": 53.54, "longitude": 9.98},
        ),
    ],
)  # fmt: skip
def test_each_server_s_place_becomes_the_same_columns(location, expected):
    assert columns(location) == expected


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        (0, 0),  # a default filled in, not a place
        ("0", "0.0"),
        ("50,9", "11,5"),  # a decimal comma: one coordinate or two? Not guessed
        ("1e400", "2"),
        ({"@value": "x"}, 2),
        ({"@id": "https://x.example"}, 2),
        (50.9, None),  # one without the other
    ],
)
def test_more_coordinates_that_are_no_place(latitude, longitude):
    found = columns({"type": "Place", "name": "Gate", "latitude": latitude, "longitude": longitude})
    assert found == {"place_name": "Gate"}


def test_a_bbcode_point_that_is_garbage_is_dropped_and_the_name_kept():
    for name in ("Gate [map=91,10]", "Gate [map=a,b]", "Gate [map=1,2,3]", "Gate [map=]"):
        assert columns({"type": "Place", "name": name}) == {"place_name": "Gate"}


def test_the_first_place_that_says_where_is_taken():
    """A list (Gancio sends one with online links; any server may send several places): places
    that say nothing give way; the first that says anything is taken whole."""
    location = [
        {"type": "Place"},
        {"type": "Place", "name": "  ", "latitude": "x", "longitude": "y"},
        {"type": "VirtualLocation", "url": "https://meet.example/r"},
        "",
        {"type": "Place", "name": "Second hall", "latitude": 1.5, "longitude": 2.5},
        {"type": "Place", "name": "Third hall"},
    ]
    found = event_fields(event_with(location))
    assert (found["place_name"], found["latitude"], found["online_url"]) == (
        "Second hall",
        1.5,
        "https://meet.example/r",
    )
    # Nothing usable anywhere: no place at all, and no half of one.
    nothing = event_fields(event_with([{"type": "Place"}, {"type": "Place", "latitude": 5}]))
    assert nothing["place_name"] is None and nothing["latitude"] is None


def test_brackets_that_are_not_friendica_markup_stay_in_the_name():
    assert columns({"type": "Place", "name": "Hall [B] [Ground floor]"}) == {
        "place_name": "Hall [B] [Ground floor]"
    }
