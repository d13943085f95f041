"""The one hashtag rule: what is a tag (Mastodon's), how long ours may be, when two are one."""

from __future__ import annotations

import pytest
from test_alerts import strike
from test_events_federation import may_day
from test_solidarity_days import womens_day

from actors import alerts, events, hashtags, solidarity_days
from actors.errors import Message, Problems, ValidationError


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("#MayDay", "MayDay"),
        ("MayDay", "MayDay"),
        (" may_day ", "may_day"),
        ("Grève", "Grève"),
        ("Gre\u0300ve", "Grève"),  # decomposed accent is composed
        ("1Mai", "1Mai"),
        ("Mai1", "Mai1"),
        ("_strike", "_strike"),
        ("Straße", "Straße"),
        ("हड़ताल", "हड़ताल"),  # combining marks are word characters
        ("ストライキ", "ストライキ"),
        ("罢工", "罢工"),
        ("a·b", "a·b"),  # Mastodon's separators may sit inside a tag
        ("1·2", "1·2"),
        ("#" + "a" * 100, "a" * 100),
    ],
)
def test_normalize_accepts(raw: str, name: str) -> None:
    assert hashtags.normalize(raw) == name


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "#",
        "##MayDay",
        "2026",
        "#1",
        "_",
        "_1",
        "may day",
        "may-day",
        "may.day",
        "·ab",
        "ab·",
        "<b>x</b>",
        "tag#",
        "a" * 101,
    ],
)
def test_normalize_refuses(raw: str) -> None:
    assert hashtags.normalize(raw) is None


def test_own_tags_are_kept_once_in_their_first_spelling() -> None:
    problems = Problems()
    names = hashtags.own(["#MayDay", "mayday", "Gre\u0300ve", "GRÈVE", "Straße"], "tags", problems)
    assert names == ["MayDay", "Grève", "Straße"]
    assert not problems


def test_own_tags_report_each_kind_of_problem_with_what_was_typed() -> None:
    problems = Problems()
    longest = "a" * hashtags.MAX_OWN_LENGTH
    assert hashtags.own(["may day", longest, longest + "b"], "tags", problems) == [longest]
    with pytest.raises(ValidationError) as refused:
        problems.raise_any()
    # One problem per field: the first one found.
    assert refused.value.problems["tags"].message is Message.NOT_A_HASHTAG
    assert refused.value.problems["tags"].params == {"value": "may day"}
    problems = Problems()
    hashtags.own([longest + "b"], "hashtag", problems)
    with pytest.raises(ValidationError) as refused:
        problems.raise_any()
    assert refused.value.problems["hashtag"].message is Message.HASHTAG_TOO_LONG
    assert refused.value.problems["hashtag"].params == {"value": longest + "b", "limit": 39}


def _refusal(check) -> dict:
    with pytest.raises(ValidationError) as refused:
        check()
    return {name: found.message for name, found in refused.value.problems.items()}


def test_actions_alerts_and_days_follow_the_same_rule() -> None:
    """A tag longer than Mobilizon keeps is refused alike everywhere we publish one."""
    long_tag = "Solidarity" * 4
    action, alert = may_day(tags=[long_tag]), strike(tags=[long_tag])
    day = womens_day(hashtag=long_tag)
    assert _refusal(lambda: events.check(action, "action")) == {"tags": Message.HASHTAG_TOO_LONG}
    assert _refusal(lambda: alerts.check(alert)) == {"tags": Message.HASHTAG_TOO_LONG}
    assert _refusal(lambda: solidarity_days.check(day)) == {"hashtag": Message.HASHTAG_TOO_LONG}
