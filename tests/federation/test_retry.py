import itertools
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from federation.retry import (
    BASE_DELAY,
    MAX_ATTEMPTS,
    MAX_DELAY,
    MAX_RETRY_AFTER,
    Backoff,
    FailureKind,
    Outcome,
    host_unavailable_until,
    next_delay,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TIMEOUT = Outcome(FailureKind.TIMEOUT)


def unjittered(attempt: int) -> float:
    return min(BASE_DELAY * 2 ** (attempt - 1), MAX_DELAY)


class MidRandom(random.Random):
    """uniform() returns the midpoint, so the policy's arithmetic shows without jitter."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def test_backoff_starts_at_base_and_doubles_up_to_the_cap():
    delays = [next_delay(n, TIMEOUT, now=NOW, rng=MidRandom()) for n in range(1, MAX_ATTEMPTS)]
    assert delays[0] == BASE_DELAY
    assert delays[1] == 2 * BASE_DELAY
    for earlier, later in itertools.pairwise(delays):
        assert later == min(2 * earlier, MAX_DELAY)
    assert delays[-1] == MAX_DELAY


def test_jitter_stays_within_twenty_percent_and_under_the_cap():
    rng = random.Random(1234)
    for attempt in range(1, MAX_ATTEMPTS):
        base = unjittered(attempt)
        seen = [next_delay(attempt, TIMEOUT, now=NOW, rng=rng) for _ in range(200)]
        assert all(0.8 * base <= d <= min(1.2 * base, MAX_DELAY) for d in seen)
        if base < MAX_DELAY / 1.2:
            # Jitter actually spreads the retries: both halves of the band are hit.
            assert min(seen) < base < max(seen)


def test_seeded_rng_makes_the_schedule_reproducible():
    first = [next_delay(n, TIMEOUT, now=NOW, rng=random.Random(7)) for n in range(1, 10)]
    again = [next_delay(n, TIMEOUT, now=NOW, rng=random.Random(7)) for n in range(1, 10)]
    assert first == again


def test_whole_schedule_lasts_about_two_days_then_gives_up():
    total = sum(unjittered(n) for n in range(1, MAX_ATTEMPTS))
    assert timedelta(hours=44) <= timedelta(seconds=total) <= timedelta(hours=56)
    # One try fewer would stop short of two days.
    assert total - unjittered(MAX_ATTEMPTS - 1) < 48 * 3600 < total
    assert next_delay(MAX_ATTEMPTS - 1, TIMEOUT, now=NOW) is not None
    assert next_delay(MAX_ATTEMPTS, TIMEOUT, now=NOW) is None
    assert next_delay(MAX_ATTEMPTS + 5, TIMEOUT, now=NOW) is None


def test_attempt_is_one_based():
    with pytest.raises(ValueError):
        next_delay(0, TIMEOUT, now=NOW)
    with pytest.raises(ValueError):
        Backoff(base=30, factor=4, attempts=5).delay(0)


def test_a_schedule_without_jitter_is_exact_and_ends_after_its_attempts():
    backoff = Backoff(base=30, factor=4, attempts=5)
    assert [backoff.delay(n) for n in range(1, 7)] == [30, 120, 480, 1920, None, None]
    assert backoff.longest() == timedelta(seconds=30 + 120 + 480 + 1920)


@pytest.mark.parametrize("status", [400, 403, 404, 405, 410, 413, 422, 451, 501])
def test_unsalvageable_statuses_are_never_retried(status):
    assert next_delay(1, Outcome(FailureKind.HTTP_STATUS, status), now=NOW) is None


@pytest.mark.parametrize("status", [401, 408, 429, 500, 502, 503, 504, 520, 302])
def test_transient_statuses_are_retried(status):
    delay = next_delay(1, Outcome(FailureKind.HTTP_STATUS, status), now=NOW)
    assert delay is not None and delay > 0


def test_a_permanent_status_wins_over_retry_after():
    outcome = Outcome(FailureKind.HTTP_STATUS, 410, retry_after="60")
    assert next_delay(1, outcome, now=NOW) is None


@pytest.mark.parametrize("kind", [FailureKind.TIMEOUT, FailureKind.CONNECTION, FailureKind.OTHER])
def test_network_trouble_is_retried(kind):
    assert next_delay(3, Outcome(kind), now=NOW) is not None


@pytest.mark.parametrize("kind", [FailureKind.DNS, FailureKind.TLS, FailureKind.FORBIDDEN_ADDRESS])
def test_dns_tls_and_forbidden_addresses_are_never_retried(kind):
    assert next_delay(1, Outcome(kind), now=NOW) is None


def test_http_status_outcome_needs_a_status():
    with pytest.raises(ValueError):
        Outcome(FailureKind.HTTP_STATUS)


def test_retry_after_seconds_raises_the_delay():
    outcome = Outcome(FailureKind.HTTP_STATUS, 429, retry_after="3600")
    delay = next_delay(1, outcome, now=NOW, rng=random.Random(3))
    assert delay is not None
    assert 3600 <= delay <= 3600 * 1.2


def test_retry_after_http_date_is_measured_from_now():
    when = NOW + timedelta(hours=2)
    outcome = Outcome(FailureKind.HTTP_STATUS, 503, retry_after=format_datetime(when, usegmt=True))
    delay = next_delay(2, outcome, now=NOW, rng=random.Random(3))
    assert delay is not None
    assert 7200 <= delay <= 7200 * 1.2


def test_retry_after_never_lowers_the_backoff():
    outcome = Outcome(FailureKind.HTTP_STATUS, 429, retry_after="5")
    assert next_delay(10, outcome, now=NOW, rng=MidRandom()) == unjittered(10)
    past = format_datetime(NOW - timedelta(days=1), usegmt=True)
    outcome = Outcome(FailureKind.HTTP_STATUS, 503, retry_after=past)
    assert next_delay(4, outcome, now=NOW, rng=MidRandom()) == unjittered(4)


def test_retry_after_is_capped():
    outcome = Outcome(FailureKind.HTTP_STATUS, 429, retry_after=str(365 * 86400))
    assert next_delay(1, outcome, now=NOW) == MAX_RETRY_AFTER


@pytest.mark.parametrize("garbage", ["soon", "-30", "1.5", ""])
def test_unreadable_retry_after_falls_back_to_backoff(garbage):
    outcome = Outcome(FailureKind.HTTP_STATUS, 503, retry_after=garbage)
    assert next_delay(1, outcome, now=NOW, rng=MidRandom()) == BASE_DELAY


def test_retry_after_date_with_naive_now_is_read_as_utc():
    when = format_datetime(NOW + timedelta(minutes=30), usegmt=True)
    outcome = Outcome(FailureKind.HTTP_STATUS, 429, retry_after=when)
    delay = next_delay(1, outcome, now=NOW.replace(tzinfo=None), rng=random.Random(0))
    assert delay is not None and 1800 <= delay <= 1800 * 1.2


# Circuit breaker


def test_host_stays_available_with_few_failures_however_long():
    assert host_unavailable_until(4, NOW - timedelta(days=3), NOW) is None


def test_host_stays_available_during_a_short_burst_of_failures():
    assert host_unavailable_until(50, NOW - timedelta(minutes=10), NOW) is None
    assert host_unavailable_until(50, NOW - timedelta(hours=1), NOW) is None


def test_host_failing_for_over_an_hour_is_probed_an_hour_later():
    until = host_unavailable_until(5, NOW - timedelta(hours=1, seconds=1), NOW)
    assert until == NOW + timedelta(hours=1)


def test_probe_interval_grows_with_the_streak_up_to_twelve_hours():
    started = NOW - timedelta(hours=2)
    waits = [host_unavailable_until(n, started, NOW) - NOW for n in range(5, 12)]
    hours = [w / timedelta(hours=1) for w in waits]
    assert hours == [1, 2, 4, 8, 12, 12, 12]
    assert host_unavailable_until(10_000, started, NOW) == NOW + timedelta(hours=12)


def test_breaker_accepts_naive_utc_from_the_database():
    until = host_unavailable_until(6, (NOW - timedelta(hours=3)).replace(tzinfo=None), NOW)
    assert until == NOW + timedelta(hours=2)
    assert until.tzinfo is not None
