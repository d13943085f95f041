"""Events (and alerts) as documents calendars and feed readers take: iCalendar (RFC 5545) and
Atom (RFC 4287).

Both are written by libraries (icalendar, feedgenerator) rather than by hand, so quoting,
folding and escaping follow the standards. What we decide is what each field says.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from feedgenerator import Atom1Feed
from icalendar import Calendar, vCalAddress
from icalendar import Event as VEvent
from icalendar.enums import STATUS

from actors import event_text
from actors.models import Alert, Event, Report, SolidarityDay
from actors.text import plain_text, sanitize_html, strip_controls
from actors.urls import http_url

PRODID = "-//International Workers Solidarity Network//iwsn-node//EN"
CALENDAR_TYPE = "text/calendar; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"

# Characters neither XML 1.0 nor iCalendar TEXT may carry (remote events can contain anything);
# tab and newline stay.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


@dataclass(frozen=True)
class FeedEvent:
    """An event with who organizes it, as both formats name them."""

    event: Event
    organizer_name: str
    organizer_uri: str

    @property
    def page_url(self) -> str:
        # Feed readers follow links as browsers do: only http(s) from remote documents.
        return http_url(self.event.url) or self.event.uri


@dataclass(frozen=True)
class FeedDay:
    """A solidarity day, where this node shows it, and who declared it."""

    day: SolidarityDay
    page_url: str
    organizer_name: str


def organizer_name(event: Event, local_names: dict[int, str]) -> str:
    """Our organization's current name for our own events; the origin's for remote ones."""
    if event.is_local and event.organization_id in local_names:
        return local_names[event.organization_id]
    return event.origin_name or event.origin_host


def day_organizer_name(day: SolidarityDay, local_names: dict[int, str]) -> str:
    if day.is_local and day.organization_id in local_names:
        return local_names[day.organization_id]
    return day.origin_name or day.origin_host


def _text(value: str) -> str:
    # Also without bidi overrides and zero-width characters: a feed reader or a calendar has no
    # <bdi> to contain them, and rows stored before they were stripped on arrival may hold them.
    return strip_controls(_CONTROL.sub("", value))


def _country(event: Event) -> str | None:
    if not event.country:
        return None
    names = event_text.locale_for(event.language).territories
    return names.get(event.country.upper(), event.country)


def location(event: Event) -> str | None:
    """Place, street, postcode and city, country; or, for an online-only event, its link."""
    town = " ".join(part for part in (event.postal_code, event.city) if part)
    parts = [event.place_name, event.street_address, town, _country(event)]
    place = ", ".join(dict.fromkeys(part for part in parts if part))
    where = place or event.online_url
    return _text(where) if where else None


def description(item: FeedEvent) -> str:
    """The description as plain text, the online link if the place is elsewhere, the page."""
    event = item.event
    parts = [plain_text(event.description_html)]
    if event.online_url and location(event) != event.online_url:
        parts.append(f"Online: {event.online_url}")
    parts.append(item.page_url)
    return _text("\n\n".join(part for part in parts if part))


def sequence(event: Event | SolidarityDay) -> int:
    """RFC 5545 SEQUENCE: 0 when published, growing with every change (`updated_at` only ever
    advances, by a second at least), so calendars replace what they hold instead of keeping it.

    Whole seconds on both sides: an edit stamps `updated_at` on a second boundary, which may be
    less than a second after a `published_at` that carries microseconds.
    """
    return max(0, _seconds(event.updated_at) - _seconds(event.published_at))


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def vevent(item: FeedEvent) -> VEvent:
    event = item.event
    zone = ZoneInfo(event.timezone)
    component = VEvent.new(
        uid=event.uri,
        # Without METHOD, DTSTAMP is when the stored information last changed (RFC 5545 3.8.7.2),
        # which also keeps the document the same from one request to the next.
        stamp=event.updated_at.astimezone(UTC),
        last_modified=event.updated_at.astimezone(UTC),
        sequence=sequence(event),
        start=event.starts_at.astimezone(zone),
        end=event.ends_at.astimezone(zone) if event.ends_at else None,
        summary=_text(event.title),
        description=description(item),
        location=location(event),
        url=item.page_url,
        status=STATUS.CANCELLED if event.status == "cancelled" else STATUS.CONFIRMED,
        categories=event.hashtags or (),
    )
    if event.latitude is not None and event.longitude is not None:
        component.add("geo", (event.latitude, event.longitude))
    organizer = vCalAddress(item.organizer_uri)
    organizer.params["CN"] = _text(item.organizer_name)
    component.add("organizer", organizer)
    return component


def day_vevent(item: FeedDay) -> VEvent:
    """A solidarity day as calendars keep a holiday: DTSTART;VALUE=DATE and the next date as the
    (exclusive) DTEND, a floating date that is the same day in every reader's time zone."""
    day = item.day
    component = VEvent.new(
        uid=day.uri,
        stamp=day.updated_at.astimezone(UTC),
        last_modified=day.updated_at.astimezone(UTC),
        sequence=sequence(day),
        start=day.day,
        end=day.day + timedelta(days=1),
        summary=_text(f"Workers Solidarity Day: {day.theme}"),
        description=_text(
            "\n\n".join(
                part
                for part in (day.slogan, plain_text(day.description_html), item.page_url)
                if part
            )
        ),
        url=item.page_url,
        status=STATUS.CONFIRMED,
        categories=[_text(day.hashtag)],
    )
    # A day of action does not make anyone busy from midnight to midnight.
    component.add("transp", "TRANSPARENT")
    organizer = vCalAddress(day.origin_actor_uri)
    organizer.params["CN"] = _text(item.organizer_name)
    component.add("organizer", organizer)
    return component


def calendar(
    items: Sequence[FeedEvent], *, name: str, uid: str, days: Sequence[FeedDay] = ()
) -> bytes:
    """A VCALENDAR of the days and the events, with a VTIMEZONE for each zone the events use.

    `uid` (RFC 7986) names the calendar itself: its URL, the same on every request.
    """
    cal = Calendar.new(prodid=PRODID, name=_text(name), uid=uid)
    for day in days:
        cal.add_component(day_vevent(day))
    for item in items:
        cal.add_component(vevent(item))
    if items:
        # VTIMEZONEs covering just the events' span (with a year of margin for the transition
        # before the first one) instead of 1970-2038 for every zone.
        first = min(item.event.starts_at for item in items).date() - timedelta(days=366)
        last = max(item.event.ends_at or item.event.starts_at for item in items).date()
        cal.add_missing_timezones(first_date=first, last_date=last + timedelta(days=366))
    return cal.to_ical()


def atom(
    items: Sequence[FeedEvent], *, feed_id: str, title: str, self_url: str, alternate_url: str
) -> bytes:
    """An Atom feed with an entry per event, soonest first as the pages list them.

    Its `updated` is the newest change among the entries (now, for an empty feed).
    """
    feed = Atom1Feed(
        title=_text(title),
        link=alternate_url,
        description=None,
        feed_url=self_url,
        feed_guid=feed_id,
    )
    for item in items:
        event = item.event
        feed.add_item(
            title=_text(event.title),
            link=item.page_url,
            unique_id=event.uri,
            description=_summary_html(event),
            content=_text(sanitize_html(event.description_html)) or None,
            author_name=_text(item.organizer_name),
            author_link=http_url(item.organizer_uri),
            pubdate=event.published_at,
            updateddate=event.updated_at,
            categories=[_text(tag) for tag in event.hashtags],
        )
    return feed.writeString("utf-8").encode()


def alerts_atom(
    items: Sequence[tuple[Alert, str, str, str]],
    *,
    feed_id: str,
    title: str,
    self_url: str,
    alternate_url: str,
) -> bytes:
    """An Atom feed of solidarity alerts, newest first: (alert, page URL, where, what is asked).

    A new version of an alert (updated, resolved) advances its entry's `updated`.
    """
    feed = Atom1Feed(
        title=_text(title),
        link=alternate_url,
        description=None,
        feed_url=self_url,
        feed_guid=feed_id,
    )
    for alert, page_url, where, asked in items:
        state = "RESOLVED: " if alert.status == "resolved" else ""
        if not state and alert.urgency == "urgent":
            state = "URGENT: "
        lines = [where, *alert.text.split("\n")]
        if asked:
            lines.append(f"Asked: {asked}")
        feed.add_item(
            title=_text(f"{state}{alert.title}"),
            link=page_url,
            unique_id=alert.uri,
            description="<br>".join(html.escape(_text(line)) for line in lines if line.strip()),
            author_name=_text(alert.origin_name or alert.origin_host),
            author_link=http_url(alert.origin_actor_uri),
            pubdate=alert.published_at,
            updateddate=alert.updated_at,
            categories=[_text(tag) for tag in alert.hashtags],
        )
    return feed.writeString("utf-8").encode()


def reports_atom(
    items: Sequence[tuple[Report, str]],
    *,
    feed_id: str,
    title: str,
    self_url: str,
    alternate_url: str,
) -> bytes:
    """An Atom feed of reports, newest first: (report, its page URL). An edit advances its
    entry's `updated`; the whole text is the entry's content, sanitized again on the way out."""
    feed = Atom1Feed(
        title=_text(title),
        link=alternate_url,
        description=None,
        feed_url=self_url,
        feed_guid=feed_id,
    )
    for report, page_url in items:
        feed.add_item(
            title=_text(report.title),
            link=page_url,
            unique_id=report.uri,
            description=html.escape(_text(report.summary)) or None,
            content=_text(sanitize_html(report.body_html)) or None,
            author_name=_text(report.origin_name or report.origin_host),
            author_link=http_url(report.origin_actor_uri),
            pubdate=report.published_at,
            updateddate=report.updated_at,
            categories=[_text(tag) for tag in report.hashtags],
        )
    return feed.writeString("utf-8").encode()


def _summary_html(event: Event) -> str:
    # feedgenerator writes every summary as type="html": the plain lines, escaped, one a line.
    return "<br>".join(html.escape(line) for line in _text(event_text.summary(event)).split("\n"))


def filename(title: str, fallback: str) -> str:
    """An ASCII file name for Content-Disposition: 'May Day march' → 'may-day-march.ics'."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].strip("-")
    return f"{slug or fallback}.ics"
