"""Our content on the wire: every kind writes its time stamps the same way, in UTC."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from actors import alert_to_as, day_to_as, event_to_as, report_to_as
from actors.models import Alert, Event, Report, SolidarityDay
from federation.models import LocalActor

BASE = "https://a.example"
# Not UTC: the time stamps must come out in UTC all the same.
EAST = timezone(timedelta(hours=3))
PUBLISHED = datetime(2027, 3, 1, 12, 0, tzinfo=EAST)
UPDATED = datetime(2027, 3, 2, 1, 30, tzinfo=EAST)
ACTOR = LocalActor(uri=f"{BASE}/actors/org", followers_uri=f"{BASE}/actors/org/followers")


def new_id() -> str:
    return f"{BASE}/activities/1"


def day() -> SolidarityDay:
    return SolidarityDay(
        uri=f"{BASE}/days/1",
        day=date(2027, 3, 8),
        theme="Care work",
        slogan="Care is work",
        hashtag="CareStrike",
        description_html="",
        published_at=PUBLISHED,
        updated_at=UPDATED,
    )


def event() -> Event:
    return Event(
        uri=f"{BASE}/actions/1",
        category="action",
        kind="strike",
        title="Strike",
        description_html="",
        starts_at=datetime(2027, 3, 8, 9, 0, tzinfo=EAST),
        timezone="Europe/Istanbul",
        hashtags=[],
        sections=[],
        status="scheduled",
        published_at=PUBLISHED,
        updated_at=UPDATED,
    )


def alert() -> Alert:
    return Alert(
        uri=f"{BASE}/alerts/1",
        title="Eviction",
        text="Come now",
        country="PT",
        ask_text="",
        asks=[],
        urgency="urgent",
        links=[],
        hashtags=[],
        status="active",
        hops=0,
        expires_at=datetime(2027, 3, 9, 2, 0, tzinfo=EAST),
        published_at=PUBLISHED,
        updated_at=UPDATED,
    )


def report() -> Report:
    return Report(
        uri=f"{BASE}/reports/1",
        title="Lessons",
        summary="What we learned",
        body_html="<p>Much.</p>",
        hashtags=[],
        related=[],
        published_at=PUBLISHED,
        updated_at=UPDATED,
    )


KINDS = {
    "day": (day_to_as, day),
    "event": (event_to_as, event),
    "alert": (alert_to_as, alert),
    "report": (report_to_as, report),
}
FORMER_TYPES = {"alert": "Note", "report": "Article"}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_stamps_its_object_and_activities_in_utc(kind):
    mapper, make = KINDS[kind]
    item = make()
    update = mapper.activity("Update", BASE, new_id, item, ACTOR)
    assert update["published"] == "2027-03-01T22:30:00Z"
    assert update["object"]["published"] == "2027-03-01T09:00:00Z"
    assert update["object"]["updated"] == "2027-03-01T22:30:00Z"
    assert update["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert update["cc"] == [ACTOR.followers_uri]

    item.deleted_at = datetime(2027, 3, 3, 0, 15, tzinfo=EAST)
    delete = mapper.activity("Delete", BASE, new_id, item, ACTOR)
    assert delete["object"] == {
        "id": item.uri,
        "type": "Tombstone",
        "formerType": FORMER_TYPES.get(kind, "Event"),
        "deleted": "2027-03-02T21:15:00Z",
    }
    assert delete["@context"] == update["@context"]


def test_an_alert_expires_in_utc():
    assert alert_to_as.note(BASE, alert(), ACTOR)["expires"] == ("2027-03-08T23:00:00Z")
