"""Solidarity alerts: the rules, and the one entry point for each change of our own alerts.

Admin pages, the CLI and tests raise, update, resolve and withdraw through these functions;
each change is stored and handed to the priority lane in one transaction. How an alert reads
is in `actors.alert_text`, its wire form in `actors.alert_to_as` and `actors.as_to_alert`,
and what happens to alerts from other servers in `actors.alert_relaying`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors import alert_to_as, countries, hashtags, owned, publishing, vocabulary
from actors.errors import Message, Problems
from actors.models import Alert, Organization
from actors.organizations import resolve
from actors.urls import http_url
from actors.visibility import visible
from federation.db import utcnow
from federation.delivery import LANE_PRIORITY as URGENT
from federation.models import LocalActor
from federation.node import Federation

ASK_KINDS = vocabulary.ALERT_ASK_KINDS
URGENCIES = vocabulary.ALERT_URGENCIES
STATUSES = vocabulary.ALERT_STATUSES
MAX_TITLE = 200
MAX_TEXT = 5_000
MAX_ASK = 1_000
MAX_REGION = 200
MAX_LINKS = 5
MAX_TAGS = 10
MAX_ORIGIN_NAME = 300
DEFAULT_LIFETIME = timedelta(days=7)


@dataclass
class AlertInput:
    title: str
    text: str
    country: str
    region: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    ask_text: str = ""
    asks: list[str] = field(default_factory=list)
    urgency: str = "normal"
    links: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    language: str | None = None
    expires_at: datetime | None = None


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def check(data: AlertInput, *, now: datetime | None = None) -> dict[str, Any]:
    """The alert's columns from the input; raises ValidationError naming every wrong field."""
    now = now or utcnow()
    problems = Problems()
    title = _clean(data.title)
    if not title:
        problems.add("title", Message.TITLE_REQUIRED)
    elif len(title) > MAX_TITLE:
        problems.add("title", Message.TITLE_TOO_LONG, limit=MAX_TITLE)
    text = (data.text or "").strip()
    if not text:
        problems.add("text", Message.TEXT_REQUIRED)
    elif len(text) > MAX_TEXT:
        problems.add("text", Message.TEXT_TOO_LONG, limit=MAX_TEXT)
    country = countries.normalize(data.country) or ""
    if not countries.known(country):
        problems.add("country", Message.COUNTRY_UNKNOWN, value=data.country or "")
    region = _clean(data.region) or None
    if region and len(region) > MAX_REGION:
        problems.add("region", Message.REGION_TOO_LONG, limit=MAX_REGION)
    if (data.latitude is None) != (data.longitude is None):
        problems.add("coordinates", Message.COORDINATES_HALF)
    elif data.latitude is not None and data.longitude is not None:
        if not -90 <= data.latitude <= 90:
            problems.add("latitude", Message.LATITUDE_RANGE)
        if not -180 <= data.longitude <= 180:
            problems.add("longitude", Message.LONGITUDE_RANGE)
    ask_text = (data.ask_text or "").strip()
    if len(ask_text) > MAX_ASK:
        problems.add("ask", Message.ASK_TOO_LONG, limit=MAX_ASK)
    asks = list(dict.fromkeys(data.asks))
    unknown = [kind for kind in asks if kind not in ASK_KINDS]
    if unknown:
        problems.add(
            "asks", Message.ASK_KIND_UNKNOWN, value=unknown[0], choices=", ".join(ASK_KINDS)
        )
    if data.urgency not in URGENCIES:
        problems.add("urgency", Message.URGENCY_UNKNOWN)
    links = list(dict.fromkeys(link.strip() for link in data.links if link.strip()))
    if len(links) > MAX_LINKS:
        problems.add("links", Message.TOO_MANY_LINKS, limit=MAX_LINKS)
    for link in links:
        if http_url(link) is None:
            problems.add("links", Message.LINK_NOT_HTTP, value=link)
    names = hashtags.own(data.tags, "tags", problems)
    if len(names) > MAX_TAGS:
        problems.add("tags", Message.TOO_MANY_HASHTAGS, limit=MAX_TAGS)
    language = _clean(data.language) or None
    if language and (len(language) > 16 or not language.replace("-", "").isalnum()):
        problems.add("language", Message.LANGUAGE_UNKNOWN, value=data.language or "")
    expires = data.expires_at or now + DEFAULT_LIFETIME
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if expires <= now:
        problems.add("expires", Message.EXPIRES_BEFORE_RAISED)
    problems.raise_any()
    return {
        "title": title,
        "text": text,
        "country": country,
        "region": region,
        "latitude": data.latitude,
        "longitude": data.longitude,
        "ask_text": ask_text,
        "asks": asks,
        "urgency": data.urgency,
        "links": links,
        "hashtags": names,
        "language": language,
        "expires_at": expires.astimezone(UTC).replace(microsecond=0),
    }


def input_from(alert: Alert) -> AlertInput:
    return AlertInput(
        title=alert.title,
        text=alert.text,
        country=alert.country,
        region=alert.region,
        latitude=alert.latitude,
        longitude=alert.longitude,
        ask_text=alert.ask_text,
        asks=list(alert.asks),
        urgency=alert.urgency,
        links=list(alert.links),
        tags=list(alert.hashtags),
        language=alert.language,
        expires_at=alert.expires_at,
    )


# --- entry points -----------------------------------------------------------------------


async def raise_alert(federation: Federation, data: AlertInput, *, org: str | None = None) -> Alert:
    """Store a new alert of one of our organizations and send `Create` on the priority lane."""
    values = check(data)
    async with federation.db.transaction() as session:
        organization, actor = await resolve(session, org)
        now = utcnow().replace(microsecond=0)
        uri = f"{federation.config.base_url}/alerts/{uuid.uuid4()}"
        alert = Alert(
            uri=uri,
            url=uri,
            is_local=True,
            organization_id=organization.id,
            origin_actor_uri=actor.uri,
            origin_host=federation.own_host,
            origin_name=organization.display_name,
            status="active",
            hops=0,
            published_at=now,
            updated_at=now,
            # Ours: never relayed by our own organizations, whatever comes back round.
            relayed_version=now,
            **values,
        )
        session.add(alert)
        await session.flush()
        await publishing.send(
            federation, session, "Create", alert_to_as.activity, alert, actor, priority=URGENT
        )
    return alert


async def _send_update(
    federation: Federation, session: AsyncSession, alert: Alert, actor: LocalActor
) -> None:
    await publishing.changed(
        federation, session, alert_to_as.activity, alert, actor, priority=URGENT
    )
    alert.relayed_version = alert.updated_at  # ours: never relayed back to us


async def update(federation: Federation, uri: str, data: AlertInput) -> Alert:
    """Replace an alert's details and send `Update`."""
    values = check(data)
    async with federation.db.transaction() as session:
        alert, _organization, actor = await own_alert(session, uri=uri)
        for name, value in values.items():
            setattr(alert, name, value)
        await _send_update(federation, session, alert, actor)
    return alert


async def resolve_alert(federation: Federation, uri: str) -> Alert:
    """Mark an alert resolved (it leaves the banners) and send `Update`."""
    async with federation.db.transaction() as session:
        alert, _organization, actor = await own_alert(session, uri=uri)
        alert.status = "resolved"
        await _send_update(federation, session, alert, actor)
    return alert


async def withdraw(federation: Federation, uri: str) -> Alert:
    """Withdraw an alert raised in error: 410 with a Tombstone, and `Delete` to followers."""
    async with federation.db.transaction() as session:
        alert, _organization, actor = await own_alert(session, uri=uri)
        await publishing.withdrawn(
            federation, session, alert_to_as.activity, alert, actor, priority=URGENT
        )
        alert.relayed_version = alert.updated_at
    return alert


# --- reading ----------------------------------------------------------------------------


def is_live(alert: Alert, now: datetime) -> bool:
    """Active and not expired (whether withdrawn is the caller's to ask)."""
    return alert.status == "active" and alert.expires_at > now


async def own_alert(
    session: AsyncSession, *, uri: str | None = None, alert_id: int | None = None
) -> tuple[Alert, Organization, LocalActor]:
    """One of our organizations' alerts, not withdrawn, by its id (`uri`) or its row number."""
    return await owned.find(session, Alert, Message.ALERT_NOT_FOUND, uri=uri, row_id=alert_id)


async def received(session: AsyncSession, alert_id: int) -> Alert | None:
    """An alert from another server, by the number of its page here (`/alerts/remote/{n}`)."""
    return (
        await session.execute(select(Alert).where(Alert.id == alert_id, Alert.is_local.is_(False)))
    ).scalar_one_or_none()


async def by_uri(session: AsyncSession, uri: str) -> Alert | None:
    return (await session.execute(select(Alert).where(Alert.uri == uri))).scalar_one_or_none()


async def active(session: AsyncSession, *, limit: int = 5) -> list[Alert]:
    """Live alerts for the banner: urgent first, newest first."""
    return list(
        (
            await session.execute(
                select(Alert)
                .where(
                    Alert.deleted_at.is_(None),
                    Alert.status == "active",
                    Alert.expires_at > utcnow(),
                    visible(session, Alert),
                )
                .order_by(case((Alert.urgency == "urgent", 0), else_=1), Alert.updated_at.desc())
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )


async def every(session: AsyncSession, *, limit: int = 200) -> list[Alert]:
    return list(
        (
            await session.execute(
                select(Alert)
                .where(visible(session, Alert))
                .order_by(Alert.published_at.desc())
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )


def page_path(alert: Alert) -> str:
    return alert.uri if alert.is_local else f"/alerts/remote/{alert.id}"
