"""When to try failed work again, and when to stop trying a host at all.

Pure functions of the failure and the clock, so the queue workers stay thin loops and the
policy can be tested without a network or a sleep (Fedify's `(attempt) -> delay | None`).
`Backoff` is the schedule every queue uses (deliveries, inbox handlers); `next_delay` adds
what an HTTP failure says on top of the deliveries' one.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum


class FailureKind(StrEnum):
    # A StrEnum so the kind can be stored in a text column and read back as is.
    HTTP_STATUS = "http_status"
    TIMEOUT = "timeout"
    # Refused or reset: the host exists and may come back.
    CONNECTION = "connection"
    # The name does not resolve (NXDOMAIN). A resolver that is merely unreachable or answers
    # SERVFAIL is our problem, not the host's: classify that as OTHER so it is retried.
    DNS = "dns"
    TLS = "tls"
    # Our SSRF guard refused the address: asking again cannot change our own rule.
    FORBIDDEN_ADDRESS = "forbidden_address"
    OTHER = "other"


@dataclass(frozen=True)
class Outcome:
    kind: FailureKind
    status: int | None = None
    retry_after: str | None = None

    def __post_init__(self) -> None:
        if self.kind is FailureKind.HTTP_STATUS and self.status is None:
            raise ValueError("an HTTP_STATUS outcome needs its status")


@dataclass(frozen=True)
class Backoff:
    """Waits from `base` seconds, times `factor` at each try, at most `cap`; after the
    `attempts`-th failed try, none: give up. `jitter` spreads each wait by up to that
    fraction either way (and the cap still holds)."""

    base: float
    factor: float
    attempts: int
    cap: float = math.inf
    jitter: float = 0.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float | None:
        """Seconds to wait after the `attempt`-th failed try (1-based); None means give up."""
        if attempt < 1:
            raise ValueError(f"attempt is 1-based, got {attempt}")
        if attempt >= self.attempts:
            return None
        wait = min(self.base * self.factor ** (attempt - 1), self.cap)
        if not self.jitter:
            return wait
        rng = rng if rng is not None else random.Random()
        return min(wait * rng.uniform(1 - self.jitter, 1 + self.jitter), self.cap)

    def longest(self) -> timedelta:
        """Every wait at its most jittered (and capped): the longest the schedule can last."""
        waits = (
            min(self.base * self.factor ** (attempt - 1) * (1 + self.jitter), self.cap)
            for attempt in range(1, self.attempts)
        )
        return timedelta(seconds=sum(waits))


BASE_DELAY = 30.0
MAX_DELAY = 12 * 3600.0
JITTER = 0.2
# 30 s doubling, capped at 12 h: the 14 waits between 15 tries add up to 53.1 h un-jittered
# (14 tries would stop at 41.1 h). The schedule must outlast a two-day outage (a host down
# over a weekend day and a half, a certificate renewed on Monday) and little more: beyond
# that the followers have long seen the activity elsewhere or it is stale.
MAX_ATTEMPTS = 15
# A Retry-After may push a retry past our own cap, but not indefinitely: a misconfigured
# server answering "Retry-After: 31536000" must not park a row for a year.
MAX_RETRY_AFTER = 24 * 3600.0
# Jitter so that deliveries failed by one outage do not all return in the same second.
DELIVERY_BACKOFF = Backoff(
    base=BASE_DELAY, factor=2, attempts=MAX_ATTEMPTS, cap=MAX_DELAY, jitter=JITTER
)

# Mastodon's `response_error_unsalvageable?`: a 4xx will be the same answer next time, except
# 401 (the receiver may still hold our old key and refetch it), 408 and 429 (load, not
# refusal). 501 means the server will never take this request.
_SALVAGEABLE_4XX = frozenset({401, 408, 429})
# GoToSocial's rule: these do not heal on their own within a retry schedule, and hammering a
# dead name or a broken certificate for two days only costs us workers.
_NEVER_RETRIED = frozenset({FailureKind.DNS, FailureKind.TLS, FailureKind.FORBIDDEN_ADDRESS})


def is_permanent(outcome: Outcome) -> bool:
    if outcome.kind in _NEVER_RETRIED:
        return True
    if outcome.kind is FailureKind.HTTP_STATUS:
        status = outcome.status
        assert status is not None
        return status == 501 or (400 <= status < 500 and status not in _SALVAGEABLE_4XX)
    return False


def next_delay(
    attempt: int,
    outcome: Outcome,
    *,
    now: datetime,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait after the `attempt`-th failed try (1-based); None means mark it dead."""
    if attempt < 1:
        raise ValueError(f"attempt is 1-based, got {attempt}")
    if is_permanent(outcome):
        return None
    rng = rng if rng is not None else random.Random()
    delay = DELIVERY_BACKOFF.delay(attempt, rng)
    if delay is None:
        return None
    asked = _retry_after_seconds(outcome.retry_after, now)
    if asked is not None and asked > delay:
        # Only upwards, so the host still gets the quiet it asked for; every delivery it
        # throttled got the same header, so they are spread after that instant, not on it.
        delay = min(asked * rng.uniform(1, 1 + JITTER), MAX_RETRY_AFTER)
    return delay


def _retry_after_seconds(value: str | None, now: datetime) -> float | None:
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        # An unreadable header is the sender's bug; fall back to our own schedule.
        return None
    return max((_as_utc(when) - _as_utc(now)).total_seconds(), 0.0)


# Circuit breaker. One failed POST says little; an hour of nothing but failures says the host
# is down, and then every queued delivery to it would only burn a worker slot on a timeout.
BREAKER_MIN_FAILURES = 5
BREAKER_MIN_DURATION = timedelta(hours=1)
PROBE_FIRST_INTERVAL = timedelta(hours=1)
PROBE_MAX_INTERVAL = timedelta(hours=12)


def host_unavailable_until(
    consecutive_failures: int, first_failure_at: datetime, now: datetime
) -> datetime | None:
    """When to probe a host again after recording a failure at `now`; None if it is still up.

    Both conditions are needed: five failures in a burst can be one restart, and one failure
    an hour ago is no streak. Each failed probe lengthens the next wait (1 h, 2 h, 4 h, 8 h,
    then 12 h) so a dead host costs a few requests a day. Naive datetimes are taken as UTC
    (SQLite hands stored UTC back without tzinfo); the answer is always UTC-aware.
    """
    now = _as_utc(now)
    if (
        consecutive_failures < BREAKER_MIN_FAILURES
        or now - _as_utc(first_failure_at) <= BREAKER_MIN_DURATION
    ):
        return None
    doublings = min(consecutive_failures - BREAKER_MIN_FAILURES, 16)
    return now + min(PROBE_FIRST_INTERVAL * (1 << doublings), PROBE_MAX_INTERVAL)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# The longest a delivery's own schedule can keep it alive (~56.5 h). A row older than this
# is given up on whatever its attempts: while its host's breaker is open it is not tried at
# all, and without an age limit it would wait, and grow the queue, as long as the host is down.
RETRY_SPAN = DELIVERY_BACKOFF.longest()

# Mastodon's DeliveryFailureTracker: a server whose deliveries failed on 7 different days,
# with no success in between, is unavailable: nothing is queued for it any more until it
# is heard from again.
UNAVAILABLE_AFTER_FAILING_DAYS = 7


def failing_days(days_so_far: int, last_failure_at: datetime | None, now: datetime) -> int:
    """The count of failing days after one more failure at `now` (UTC days)."""
    if last_failure_at is not None and _as_utc(last_failure_at).date() == _as_utc(now).date():
        return days_so_far
    return days_so_far + 1
