"""What a hashtag gathers on this node: actions, assemblies, solidarity days, alerts and reports
that carry it, our own and those received, coming first and then past. What is a tag:
`actors.hashtags`.

Tags match without regard to case ("MayDay", "mayday") and to how an accent was typed (NFC),
as Mastodon matches them. The tags are JSON lists beside each row, which SQLite and PostgreSQL
cannot compare case-insensitively the same way, so the live rows are read and matched here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actors import alerts, events, solidarity_days
from actors.hashtags import key
from actors.models import Alert, Event, Report, SolidarityDay
from actors.visibility import visible

# Past items shown on a tag page (and in its feed), newest first: enough to find last year's.
PAST_LIMIT = 100


def _carries(tags: Iterable[str], wanted: str) -> bool:
    return any(key(tag) == wanted for tag in tags if isinstance(tag, str))


@dataclass
class Tagged:
    coming_events: list[Event] = field(default_factory=list)
    past_events: list[Event] = field(default_factory=list)
    coming_days: list[SolidarityDay] = field(default_factory=list)
    past_days: list[SolidarityDay] = field(default_factory=list)
    live_alerts: list[Alert] = field(default_factory=list)
    past_alerts: list[Alert] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.coming_events,
                self.past_events,
                self.coming_days,
                self.past_days,
                self.live_alerts,
                self.past_alerts,
                self.reports,
            )
        )


async def tagged(session: AsyncSession, tag: str, *, now: datetime | None = None) -> Tagged:
    """Everything not withdrawn (nor from a blocked server) that carries `tag`, sorted as the
    tag page lists it."""
    now = now or datetime.now(UTC)
    wanted = key(tag)
    found = Tagged()

    event_rows = (
        (
            await session.execute(
                select(Event).where(Event.deleted_at.is_(None), visible(session, Event))
            )
        )
        .scalars()
        .all()
    )
    for event in event_rows:
        if _carries(event.hashtags or [], wanted):
            (found.past_events if events.is_over(event, now) else found.coming_events).append(event)
    found.coming_events.sort(key=lambda e: e.starts_at)
    found.past_events.sort(key=lambda e: e.starts_at, reverse=True)
    del found.past_events[PAST_LIMIT:]

    today = solidarity_days.today_anywhere(now)
    day_rows = (
        (
            await session.execute(
                select(SolidarityDay).where(
                    SolidarityDay.deleted_at.is_(None), visible(session, SolidarityDay)
                )
            )
        )
        .scalars()
        .all()
    )
    for day in day_rows:
        if key(day.hashtag) == wanted:
            (found.coming_days if day.day >= today else found.past_days).append(day)
    found.coming_days.sort(key=lambda d: d.day)
    found.past_days.sort(key=lambda d: d.day, reverse=True)
    del found.past_days[PAST_LIMIT:]

    alert_rows = (
        (
            await session.execute(
                select(Alert).where(Alert.deleted_at.is_(None), visible(session, Alert))
            )
        )
        .scalars()
        .all()
    )
    for alert in alert_rows:
        if _carries(alert.hashtags or [], wanted):
            (found.live_alerts if alerts.is_live(alert, now) else found.past_alerts).append(alert)
    # Urgent first among the live ones, as in the banner; newest first otherwise.
    found.live_alerts.sort(key=lambda a: (a.urgency != "urgent", -a.published_at.timestamp()))
    found.past_alerts.sort(key=lambda a: a.published_at, reverse=True)
    del found.past_alerts[PAST_LIMIT:]

    report_rows = (
        (
            await session.execute(
                select(Report)
                .where(Report.deleted_at.is_(None), visible(session, Report))
                .order_by(Report.published_at.desc(), Report.id.desc())
            )
        )
        .scalars()
        .all()
    )
    found.reports = [r for r in report_rows if _carries(r.hashtags or [], wanted)][:PAST_LIMIT]
    return found
