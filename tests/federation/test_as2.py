"""The AS2 pieces every kind of content shares: date-times in one spelling, the envelopes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from federation import as2
from federation.models import LocalActor

LISBON = ZoneInfo("Europe/Lisbon")
MOMENT = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
IN_LISBON = MOMENT.astimezone(LISBON)


@pytest.mark.parametrize(
    "moment",
    [
        MOMENT,
        MOMENT.astimezone(timezone(timedelta(hours=2))),
        MOMENT.astimezone(timezone(timedelta(hours=-5, minutes=-30))),
        MOMENT.astimezone(LISBON),
        MOMENT.replace(tzinfo=None),  # what we store is UTC: a naive value is taken as such
        MOMENT.replace(microsecond=999_999),  # to the second
    ],
)
def test_a_moment_goes_out_in_utc_in_one_spelling(moment):
    assert as2.format_datetime(moment) == "2026-05-01T10:00:00Z"


@pytest.mark.parametrize(
    "written",
    [
        "2026-05-01T10:00:00Z",
        "2026-05-01T10:00:00+00:00",
        "2026-05-01T12:00:00+02:00",
        "2026-05-01T04:30:00-05:30",
        "2026-05-01T10:00:00.000Z",
        "2026-05-01T10:00:00",  # no offset: UTC, as the spec has it
    ],
)
def test_a_moment_comes_in_as_aware_utc_whatever_its_offset(written):
    moment = as2.parse_datetime(written)
    assert moment == MOMENT
    assert moment.utcoffset() == timedelta(0)


def test_a_moment_without_an_offset_can_be_read_in_the_documents_zone():
    assert as2.parse_datetime("2026-05-01T11:00:00", naive_zone=LISBON) == MOMENT
    # A written offset wins over the zone.
    assert as2.parse_datetime("2026-05-01T10:00:00Z", naive_zone=LISBON) == MOMENT


@pytest.mark.parametrize(
    "junk",
    [
        None,
        "",
        20260501,
        ["x"],
        "tomorrow",
        "2026-13-01T10:00:00Z",
        "2026-05-01T25:00:00Z",
        "2026-05-01T10:00:00Z" + " " * 64,
    ],
)
def test_what_is_no_date_time_comes_in_as_none(junk):
    assert as2.parse_datetime(junk) is None
    assert as2.datetime_as_written(junk) is None


def test_the_offset_as_written_is_kept_for_who_needs_it():
    written = as2.datetime_as_written("2026-05-01T12:00:00+02:00")
    assert written is not None
    assert written.utcoffset() == timedelta(hours=2)
    assert as2.datetime_as_written("2026-05-01T12:00:00").tzinfo is None


def test_a_public_activity_goes_to_public_and_the_actors_followers():
    actor = LocalActor(uri="https://a.example/actors/o", followers_uri="https://a.example/f")
    activity = as2.public_activity(
        "Update",
        "https://a.example/activities/1",
        actor,
        {"id": "https://a.example/x"},
        published=MOMENT.astimezone(LISBON),
    )
    assert activity == {
        "@context": as2.AS_CONTEXT,
        "id": "https://a.example/activities/1",
        "type": "Update",
        "actor": "https://a.example/actors/o",
        "published": "2026-05-01T10:00:00Z",
        "to": [as2.PUBLIC],
        "cc": ["https://a.example/f"],
        "object": {"id": "https://a.example/x"},
    }
    assert "published" not in as2.public_activity("Undo", "https://a.example/2", actor, {})


@dataclass
class Item:
    uri: str = "https://a.example/x"
    updated_at: datetime = MOMENT - timedelta(days=1)
    deleted_at: datetime | None = IN_LISBON


def test_a_tombstone_says_what_was_there_and_when_it_went():
    assert as2.tombstone(Item(), "Note") == {
        "id": "https://a.example/x",
        "type": "Tombstone",
        "formerType": "Note",
        "deleted": "2026-05-01T10:00:00Z",
    }
    # Withdrawn before we kept the time: its last change is the best we know.
    assert as2.tombstone(Item(deleted_at=None), "Note")["deleted"] == "2026-04-30T10:00:00Z"


def test_content_goes_out_as_create_update_or_delete_dated_by_its_last_change():
    actor = LocalActor(uri="https://a.example/actors/o", followers_uri="https://a.example/f")
    item = Item(deleted_at=None)

    def document() -> dict:
        return {"id": item.uri, "type": "Note"}

    for kind in ("Create", "Update"):
        activity = as2.content_activity(
            kind, "https://a.example/1", actor, item, "Note", document, []
        )
        assert activity["object"] == document()
        assert activity["published"] == "2026-04-30T10:00:00Z"
    delete = as2.content_activity(
        "Delete", "https://a.example/2", actor, item, "Note", document, []
    )
    assert delete["object"] == as2.tombstone(item, "Note")
    assert delete["published"] == "2026-04-30T10:00:00Z"


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("https://a.example/x", "https://a.example/x"),
        ({"id": "https://a.example/x", "type": "Person"}, "https://a.example/x"),
        ([{"id": "https://a.example/x"}, "https://b.example/y"], "https://a.example/x"),
        ({"type": "Person"}, None),
        ({"id": 7}, None),
        ([], None),
        (None, None),
    ],
)
def test_a_reference_is_a_string_an_object_or_a_list(value, found):
    assert as2.first_id(value) == found
