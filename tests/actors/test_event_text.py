"""How an event's time zone is named, in every language the pages speak.

Babel's data changes its spellings between releases ("Sao Paulo", "São Paulo"), so these tests
take names from Babel's API and check the shape of the result, not a fixed string.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.dates import get_timezone_location

from actors import event_text
from actors.models import Event

LANGUAGES = ["en", "de", "es", "fr", "pt"]


def event_in(zone: str, language: str) -> Event:
    return Event(
        title="March",
        starts_at=datetime(2027, 5, 1, 9, 0, tzinfo=UTC),
        ends_at=datetime(2027, 5, 1, 12, 0, tzinfo=UTC),
        timezone=zone,
        language=language,
    )


def zone_part(zone: str, language: str) -> str:
    text = event_text.when(event_in(zone, language))
    assert text.count(" · ") == 1, text
    return text.split(" · ")[1]


def unknown_region(language: str) -> str:
    return Locale.parse(language).territories["ZZ"]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "Etc/GMT", "GMT"])
def test_utc_is_named_utc(zone: str, language: str) -> None:
    words = zone_part(zone, language)
    assert "UTC" in words
    assert unknown_region(language).lower() not in words.lower()
    assert "Unknown" not in words


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("zone", "country"), [("Europe/Lisbon", "PT"), ("America/Sao_Paulo", "BR")]
)
def test_a_zone_of_a_country_with_several_names_its_city_and_country(
    zone: str, country: str, language: str
) -> None:
    words = zone_part(zone, language)
    locale = Locale.parse(language)
    assert locale.territories[country] in words
    assert get_timezone_location(zone, locale=locale, return_city=True) in words
    # German's pattern is "{0} (Ortszeit)": never a second pair of parentheses around the city.
    assert words.count("(") <= 1 and ") (" not in words
    assert unknown_region(language).lower() not in words.lower()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_country_with_one_zone_is_named_by_the_country(language: str) -> None:
    words = zone_part("Asia/Tokyo", language)
    assert Locale.parse(language).territories["JP"] in words
    assert words.count("(") <= 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_fixed_offset_zone_is_named_by_its_offset(language: str) -> None:
    # Remote events that give only an offset are kept in Etc/GMT-3 (which is UTC+3).
    words = zone_part("Etc/GMT-3", language)
    assert "+03:00" in words
    assert unknown_region(language).lower() not in words.lower()


def test_local_times_stay_in_the_events_zone() -> None:
    text = event_text.when(event_in("Europe/Lisbon", "en"))
    start = datetime(2027, 5, 1, 9, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Lisbon"))
    assert start.hour == 10
    assert "10:00" in text and "1:00" in text
