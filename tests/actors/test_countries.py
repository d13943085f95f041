"""One list of countries: ISO 3166-1 alpha-2, named in any language, used by every kind."""

from __future__ import annotations

import pytest
from test_alerts import strike
from test_events_federation import may_day

from actors import alerts, countries, events
from actors.errors import Message, ValidationError

NOT_COUNTRIES = ["001", "150", "EU", "EZ", "UN", "QO", "ZZ", "XA", "XB", "IC", "EA", "AC"]


def test_only_countries_are_listed() -> None:
    # 249 ISO 3166-1 codes, and Kosovo's XK.
    assert len(countries.CODES) == 250
    assert {"PT", "BR", "BD", "DE", "AX", "XK"} <= countries.CODES
    assert countries.CODES.isdisjoint(NOT_COUNTRIES)
    assert all(len(code) == 2 and code.isalpha() and code.isupper() for code in countries.CODES)


def test_names_and_choices_are_in_the_language_asked() -> None:
    assert countries.name("DE", "es") == "Alemania"
    assert countries.name("DE") == "Germany"
    spanish = countries.choices("es")
    assert {code for code, _name in spanish} == countries.CODES
    names = [name for _code, name in spanish]
    assert names == sorted(names, key=countries.sort_key)
    # "Åland" sorts with the A's, not after Z.
    english = [name for _code, name in countries.choices("en")]
    assert english.index("Åland Islands") < english.index("Albania")


@pytest.mark.parametrize("code", NOT_COUNTRIES)
def test_actions_and_alerts_refuse_the_same_codes(code: str) -> None:
    for check in (
        lambda: events.check(may_day(country=code), "action"),
        lambda: alerts.check(strike(country=code)),
    ):
        with pytest.raises(ValidationError) as refused:
            check()
        assert refused.value.problems["country"].message is Message.COUNTRY_UNKNOWN


def test_actions_and_alerts_take_a_code_however_it_is_typed() -> None:
    assert events.check(may_day(country=" pt "), "action").values["country"] == "PT"
    assert alerts.check(strike(country="bd"))["country"] == "BD"
