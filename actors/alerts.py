"""Solidarity alerts: the rules, one entry point per change, the wire, and the relay.

An alert is a public `Note` (Mastodon shows a Note in full) with the alert's fields in our
namespace (docs/federation.md, "Solidarity alerts"). It crosses the network hop by hop: a node
that receives an alert from an actor it follows stores it once and its organizations
`Announce` it to their own followers, once per version of the alert, on the priority lane.
"""

from __future__ import annotations

import html
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from babel import Locale
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.internal_to_as import EVENT_CONTEXT
from actors.models import Alert, AlertSettings, Organization
from actors.organizations import OrganizationError, all_organizations, resolve
from actors.remote_events import followed
from actors.text import hashtag_objects, hashtags_html, normalize_hashtag, plain_text
from federation.client import FetchError
from federation.db import Database, utcnow
from federation.delivery import LANE_PRIORITY, PUBLIC, enqueue
from federation.handlers import HandlerRegistry, InboxContext
from federation.models import LocalActor, OutboxActivity
from federation.node import Federation
from federation.remote_actors import ActorError, first_id, host_of

log = logging.getLogger(__name__)

ASK_KINDS = ("messages", "protests", "donations", "solidarity_strikes")
ASK_LABELS = {
    "messages": "messages of solidarity",
    "protests": "protests at embassies or company sites",
    "donations": "donations to the strike fund",
    "solidarity_strikes": "solidarity strikes",
}
URGENCIES = ("urgent", "normal")
STATUSES = ("active", "resolved")
MAX_TITLE = 200
MAX_TEXT = 5_000
MAX_ASK = 1_000
MAX_REGION = 200
MAX_LINKS = 5
MAX_TAGS = 10
MAX_HASHTAG = 39
MAX_HOPS = 1_000
DEFAULT_LIFETIME = timedelta(days=7)
# Mastodon's habit: a post of 500 characters. The page carries the rest.
NOTE_BUDGET = 500
# ISO 3166-1 alpha-2 as Babel knows it, without its unknown, pseudo and grouping codes.
NOT_COUNTRIES = {"ZZ", "XA", "XB", "EU", "EZ", "UN", "QO"}
COUNTRIES = {
    code
    for code in Locale("en").territories
    if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
}

ALERT_CONTEXT: list[Any] = [
    EVENT_CONTEXT[0],
    {
        **EVENT_CONTEXT[1],
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "alert": {"@id": "iwsn:alert", "@type": "xsd:boolean"},
        "alertTitle": {"@id": "iwsn:alertTitle", "@type": "sc:Text"},
        "alertText": {"@id": "iwsn:alertText", "@type": "sc:Text"},
        "urgency": {"@id": "iwsn:urgency", "@type": "sc:Text"},
        "asks": {"@id": "iwsn:asks", "@container": "@set"},
        "askText": {"@id": "iwsn:askText", "@type": "sc:Text"},
        "region": {"@id": "iwsn:region", "@type": "sc:Text"},
        "country": {"@id": "iwsn:country", "@type": "sc:Text"},
        "expires": {"@id": "iwsn:expires", "@type": "xsd:dateTime"},
        "alertStatus": {"@id": "iwsn:alertStatus", "@type": "sc:Text"},
        "hops": {"@id": "iwsn:hops", "@type": "xsd:integer"},
    },
]


class AlertError(ValueError):
    """Invalid input: `problems` maps each field to what is wrong with it, in plain words."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in problems.items()))
        self.problems = problems


class AlertNotFound(LookupError):
    pass


class NotAnAlert(ValueError):
    pass


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
    """The alert's columns from the input; raises AlertError naming every wrong field."""
    now = now or utcnow()
    problems: dict[str, str] = {}
    title = _clean(data.title)
    if not title:
        problems["title"] = "a title is required"
    elif len(title) > MAX_TITLE:
        problems["title"] = f"the title is longer than {MAX_TITLE} characters"
    text = (data.text or "").strip()
    if not text:
        problems["text"] = "say what happened"
    elif len(text) > MAX_TEXT:
        problems["text"] = f"the text is longer than {MAX_TEXT} characters"
    country = (data.country or "").strip().upper()
    if country not in COUNTRIES:
        problems["country"] = f"{data.country!r} is not a two-letter country code like BD"
    region = _clean(data.region) or None
    if region and len(region) > MAX_REGION:
        problems["region"] = f"the region is longer than {MAX_REGION} characters"
    if (data.latitude is None) != (data.longitude is None):
        problems["coordinates"] = "give both latitude and longitude, or neither"
    elif data.latitude is not None and data.longitude is not None:
        if not (-90 <= data.latitude <= 90 and -180 <= data.longitude <= 180):
            problems["coordinates"] = "latitude is -90..90 and longitude -180..180"
    ask_text = (data.ask_text or "").strip()
    if len(ask_text) > MAX_ASK:
        problems["ask"] = f"what is asked is longer than {MAX_ASK} characters"
    asks = list(dict.fromkeys(data.asks))
    unknown = [kind for kind in asks if kind not in ASK_KINDS]
    if unknown:
        problems["asks"] = f"unknown kind {unknown[0]!r}; one of: {', '.join(ASK_KINDS)}"
    if data.urgency not in URGENCIES:
        problems["urgency"] = "urgency is urgent or normal"
    links = list(dict.fromkeys(link.strip() for link in data.links if link.strip()))
    if len(links) > MAX_LINKS:
        problems["links"] = f"at most {MAX_LINKS} links"
    for link in links:
        if not link.startswith(("https://", "http://")) or len(link) > 2048:
            problems["links"] = f"{link!r} is not an http(s) address"
            break
    tags: list[str] = []
    for raw in data.tags:
        tag = normalize_hashtag(raw)
        if tag is None or len(tag) > MAX_HASHTAG:
            problems["tags"] = f"{raw!r} is not a hashtag: letters, digits and _ only"
            break
        if tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        problems["tags"] = f"at most {MAX_TAGS} hashtags"
    language = _clean(data.language) or None
    if language and (len(language) > 16 or not language.replace("-", "").isalnum()):
        problems["language"] = f"{data.language!r} is not a language code like en or pt-BR"
    expires = data.expires_at or now + DEFAULT_LIFETIME
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if expires <= now:
        problems["expires"] = "the alert would expire before it is raised"
    if problems:
        raise AlertError(problems)
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
        "hashtags": tags,
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


# --- ours → ActivityStreams -------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def where(alert: Alert) -> str:
    country = Locale("en").territories.get(alert.country, alert.country)
    return f"{alert.region}, {country}" if alert.region else country


def asked(alert: Alert) -> str:
    kinds = ", ".join(ASK_LABELS[kind] for kind in alert.asks if kind in ASK_LABELS)
    if alert.ask_text and kinds:
        return f"{alert.ask_text} ({kinds})"
    return alert.ask_text or kinds


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "…"


def content_html(alert: Alert, base_url: str) -> str:
    """What Mastodon shows: title, place, text, what is asked, links, hashtags.

    The text is shortened (with a link to the whole alert) to keep the visible post within
    about 500 characters.
    """
    status = ""
    if alert.status == "resolved":
        status = "RESOLVED · "
    elif alert.urgency == "urgent":
        status = "URGENT · "
    head = f"{status}{alert.title} — {where(alert)}"
    ask = asked(alert)
    tags = " ".join(f"#{tag}" for tag in alert.hashtags)
    fixed = len(head) + len(ask) + len(tags) + sum(min(len(link), 30) for link in alert.links)
    room = max(NOTE_BUDGET - fixed - 20, 120)
    text = _shorten(" ".join(alert.text.split()), room)
    parts = [
        f"<p>{html.escape(status)}<strong>{html.escape(alert.title)}</strong>"
        f" — {html.escape(where(alert))}</p>",
        f"<p>{html.escape(text)}</p>",
    ]
    if ask:
        parts.append(f"<p>Asked: {html.escape(ask)}</p>")
    links = list(alert.links)
    if text != " ".join(alert.text.split()):
        links.append(alert.url or alert.uri)
    if links:
        anchors = "<br>".join(
            f'<a href="{html.escape(link)}" rel="nofollow noopener">{html.escape(link)}</a>'
            for link in links
        )
        parts.append(f"<p>{anchors}</p>")
    if alert.hashtags:
        parts.append(f"<p>{hashtags_html(alert.hashtags, base_url)}</p>")
    return "".join(parts)


def note(base_url: str, alert: Alert, actor_uri: str, followers_uri: str) -> dict[str, Any]:
    content = content_html(alert, base_url)
    document: dict[str, Any] = {
        "id": alert.uri,
        "type": "Note",
        "attributedTo": actor_uri,
        "content": content,
        "url": alert.url or alert.uri,
        "to": [PUBLIC],
        "cc": [followers_uri],
        "published": _stamp(alert.published_at),
        "updated": _stamp(alert.updated_at),
        "sensitive": False,
        "tag": hashtag_objects(alert.hashtags, base_url),
        "alert": True,
        "alertTitle": alert.title,
        "alertText": alert.text,
        "urgency": alert.urgency,
        "asks": list(alert.asks),
        "askText": alert.ask_text,
        "region": alert.region,
        "country": alert.country,
        "expires": _stamp(alert.expires_at),
        "alertStatus": alert.status,
        # Every attachment with a mediaType: Gancio refuses one without.
        "attachment": [
            {"type": "Link", "href": link, "mediaType": "text/html"} for link in alert.links
        ],
    }
    if alert.language:
        document["contentMap"] = {alert.language: content}
    if alert.latitude is not None and alert.longitude is not None:
        document["location"] = {
            "type": "Place",
            "name": where(alert),
            "latitude": alert.latitude,
            "longitude": alert.longitude,
        }
    return document


def tombstone(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.uri,
        "type": "Tombstone",
        "formerType": "Note",
        "deleted": _stamp(alert.deleted_at or alert.updated_at),
    }


def with_context(document: dict[str, Any]) -> dict[str, Any]:
    return {"@context": ALERT_CONTEXT, **document}


def _activity(
    federation: Federation, kind: str, actor: LocalActor, obj: Any, alert: Alert
) -> dict[str, Any]:
    return {
        "@context": ALERT_CONTEXT,
        "id": federation.new_id(),
        "type": kind,
        "actor": actor.uri,
        "published": _stamp(alert.updated_at),
        "to": [PUBLIC],
        "cc": [actor.followers_uri],
        "object": obj,
    }


# --- entry points -----------------------------------------------------------------------


async def raise_alert(federation: Federation, data: AlertInput, *, org: str | None = None) -> Alert:
    """Store a new alert of one of our organizations and send `Create` on the priority lane."""
    values = check(data)
    async with federation.db.transaction() as session:
        try:
            organization, actor = await resolve(session, org)
        except OrganizationError as exc:
            raise AlertError({"org": str(exc)}) from exc
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
        document = note(federation.config.base_url, alert, actor.uri, actor.followers_uri)
        await federation.publish(
            session,
            _activity(federation, "Create", actor, document, alert),
            actor=actor,
            priority=LANE_PRIORITY,
        )
    return alert


async def _own(session: AsyncSession, uri: str) -> tuple[Alert, LocalActor]:
    row = (
        await session.execute(
            select(Alert, LocalActor)
            .join(Organization, Alert.organization_id == Organization.id)
            .join(LocalActor, Organization.local_actor_id == LocalActor.id)
            .where(Alert.uri == uri, Alert.is_local.is_(True), Alert.deleted_at.is_(None))
        )
    ).first()
    if row is None:
        raise AlertNotFound(f"no alert of this node at {uri}")
    return row[0], row[1]


def _advance(alert: Alert) -> None:
    # Mastodon applies an Update only when `updated` moves forward (to the second).
    alert.updated_at = max(utcnow(), alert.updated_at + timedelta(seconds=1)).replace(microsecond=0)
    alert.relayed_version = alert.updated_at


async def _send_update(
    federation: Federation, session: AsyncSession, alert: Alert, actor: LocalActor
) -> None:
    document = note(federation.config.base_url, alert, actor.uri, actor.followers_uri)
    await federation.publish(
        session,
        _activity(federation, "Update", actor, document, alert),
        actor=actor,
        priority=LANE_PRIORITY,
    )


async def update(federation: Federation, uri: str, data: AlertInput) -> Alert:
    """Replace an alert's details and send `Update`."""
    values = check(data)
    async with federation.db.transaction() as session:
        alert, actor = await _own(session, uri)
        for name, value in values.items():
            setattr(alert, name, value)
        _advance(alert)
        await _send_update(federation, session, alert, actor)
    return alert


async def resolve_alert(federation: Federation, uri: str) -> Alert:
    """Mark an alert resolved (it leaves the banners) and send `Update`."""
    async with federation.db.transaction() as session:
        alert, actor = await _own(session, uri)
        alert.status = "resolved"
        _advance(alert)
        await _send_update(federation, session, alert, actor)
    return alert


async def withdraw(federation: Federation, uri: str) -> Alert:
    """Withdraw an alert raised in error: 410 with a Tombstone, and `Delete` to followers."""
    async with federation.db.transaction() as session:
        alert, actor = await _own(session, uri)
        alert.deleted_at = utcnow()
        _advance(alert)
        await federation.retract_from_outbox(session, alert.uri)
        await federation.publish(
            session,
            _activity(federation, "Delete", actor, tombstone(alert), alert),
            actor=actor,
            priority=LANE_PRIORITY,
        )
    return alert


# --- reading ----------------------------------------------------------------------------


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
        (await session.execute(select(Alert).order_by(Alert.published_at.desc()).limit(limit)))
        .scalars()
        .all()
    )


def page_path(alert: Alert) -> str:
    return alert.uri if alert.is_local else f"/alerts/remote/{alert.id}"


# --- relaying controls ------------------------------------------------------------------

# host or host:port, as `host_of` gives it: what an origin check compares.
HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$")


@dataclass
class Relaying:
    relay: bool = True
    blocked_hosts: list[str] = field(default_factory=list)


async def relaying(session: AsyncSession) -> Relaying:
    """Whether our organizations relay received alerts, and whose alerts we refuse."""
    row = (await session.execute(select(AlertSettings).limit(1))).scalar_one_or_none()
    if row is None:
        return Relaying()
    return Relaying(relay=row.relay, blocked_hosts=list(row.blocked_hosts))


def clean_hosts(lines: list[str]) -> list[str]:
    """Hosts as typed (one a line, or a pasted address); raises AlertError on one that is not."""
    hosts: list[str] = []
    for line in lines:
        text = line.strip().lower()
        if not text:
            continue
        if "://" in text:
            text = host_of(text)
        text = text.lstrip("@").rstrip("/")
        if "@" in text:  # an organization's handle: its server
            text = text.rsplit("@", 1)[1]
        if not HOST.match(text) or len(text) > 255:
            raise AlertError(
                {"blocked_hosts": f"{line.strip()!r} is not a server name like example.org"}
            )
        if text not in hosts:
            hosts.append(text)
    return hosts


async def configure_relaying(
    db: Database, *, relay: bool | None = None, blocked_hosts: list[str] | None = None
) -> Relaying:
    """Change what is given and keep the rest; returns the settings now in force."""
    hosts = clean_hosts(blocked_hosts) if blocked_hosts is not None else None
    async with db.transaction() as session:
        row = (await session.execute(select(AlertSettings).limit(1))).scalar_one_or_none()
        if row is None:
            row = AlertSettings(relay=True, blocked_hosts=[])
            session.add(row)
        if relay is not None:
            row.relay = relay
        if hosts is not None:
            row.blocked_hosts = hosts
        row.updated_at = utcnow()
        return Relaying(relay=row.relay, blocked_hosts=list(row.blocked_hosts))


async def block(db: Database, host: str) -> Relaying:
    async with db.read() as session:
        current = await relaying(session)
    return await configure_relaying(db, blocked_hosts=[*current.blocked_hosts, host])


async def unblock(db: Database, host: str) -> Relaying:
    cleaned = clean_hosts([host])
    gone = cleaned[0] if cleaned else ""
    async with db.read() as session:
        current = await relaying(session)
    if gone not in current.blocked_hosts:
        raise AlertError({"blocked_hosts": f"{host.strip()!r} is not blocked"})
    kept = [name for name in current.blocked_hosts if name != gone]
    return await configure_relaying(db, blocked_hosts=kept)


# --- ActivityStreams → ours, and the relay ----------------------------------------------


def is_alert(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and document.get("type") == "Note"
        and (document.get("alert") is True or document.get("iwsn:alert") is True)
    )


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _when(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def alert_fields(document: dict[str, Any]) -> dict[str, Any]:
    """Columns of `Alert` for a remote alert; raises NotAnAlert when it cannot be one."""
    uri = document.get("id")
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
        raise NotAnAlert("the alert has no http(s) id")
    attributed = first_id(document.get("attributedTo"))
    if attributed is None or host_of(attributed) != host_of(uri):
        raise NotAnAlert("the alert is not attributed to an actor of its own server")
    country = _text(document.get("country"), 2).upper()
    if country not in COUNTRIES:
        raise NotAnAlert("the alert has no country")
    # Our own fields carry title and text; the HTML content is only what Mastodon shows.
    published = _when(document.get("published")) or utcnow()
    location = document.get("location") if isinstance(document.get("location"), dict) else {}
    lat, lon = location.get("latitude"), location.get("longitude")
    coordinates = (
        isinstance(lat, int | float)
        and isinstance(lon, int | float)
        and -90 <= lat <= 90
        and -180 <= lon <= 180
    )
    tags = []
    for tag in document.get("tag") or []:
        if isinstance(tag, dict) and tag.get("type") == "Hashtag":
            name = normalize_hashtag(str(tag.get("name", "")))
            if name:
                tags.append(name[:64])
    links = [
        item["href"]
        for item in document.get("attachment") or []
        if isinstance(item, dict)
        and isinstance(item.get("href"), str)
        and item["href"].startswith(("https://", "http://"))
    ][:MAX_LINKS]
    url = document.get("url")
    expires = _when(document.get("expires")) or published + DEFAULT_LIFETIME
    asks = [kind for kind in document.get("asks") or [] if kind in ASK_KINDS]
    status = document.get("alertStatus")
    language = None
    if isinstance(document.get("contentMap"), dict) and document["contentMap"]:
        language = str(next(iter(document["contentMap"])))[:16]
    return {
        "uri": uri,
        "url": url if isinstance(url, str) and url.startswith(("https://", "http://")) else uri,
        "origin_actor_uri": attributed,
        "origin_host": host_of(uri),
        "title": _text(document.get("alertTitle"), MAX_TITLE) or _title_of(document),
        "text": _text(document.get("alertText"), MAX_TEXT) or _plain(document),
        "country": country,
        "region": _text(document.get("region"), MAX_REGION) or None,
        "latitude": float(lat) if coordinates else None,
        "longitude": float(lon) if coordinates else None,
        "ask_text": _text(document.get("askText"), MAX_ASK),
        "asks": asks,
        "urgency": document.get("urgency") if document.get("urgency") in URGENCIES else "normal",
        "links": links,
        "hashtags": tags[:MAX_TAGS],
        "language": language,
        "status": status if status in STATUSES else "active",
        "expires_at": expires,
        "published_at": published,
        "updated_at": _when(document.get("updated")) or published,
    }


def _plain(document: dict[str, Any]) -> str:
    content = document.get("content")
    return plain_text(content, MAX_TEXT) if isinstance(content, str) else ""


def _title_of(document: dict[str, Any]) -> str:
    content = document.get("content")
    if not isinstance(content, str):
        return "Solidarity alert"
    strong = ""
    if "<strong>" in content:
        strong = content.split("<strong>", 1)[1].split("</strong>", 1)[0]
    return plain_text(strong or content, MAX_TITLE) or "Solidarity alert"


async def relay(federation: Federation, session: AsyncSession, alert: Alert) -> int:
    """Each of our organizations `Announce`s this version of the alert to its followers, once.

    Enqueued directly (not through `Federation.publish`): the node's instance actor does not
    boost it a second time. Returns how many organizations relayed.
    """
    if alert.is_local or alert.deleted_at is not None:
        return 0
    if alert.relayed_version is not None and alert.relayed_version >= alert.updated_at:
        return 0
    if not (await relaying(session)).relay:
        return 0  # stored and shown here, passed on by no one; a later version may be
    organizations = await all_organizations(session)
    for _organization, actor in organizations:
        await enqueue(
            session,
            {
                "@context": ALERT_CONTEXT,
                "id": federation.new_id(),
                "type": "Announce",
                "actor": actor.uri,
                "object": alert.uri,
                "published": _stamp(utcnow()),
                "to": [PUBLIC],
                "cc": [actor.followers_uri],
                "hops": alert.hops,
            },
            actor=actor,
            own_host=federation.own_host,
            followers_of=[actor],
            priority=LANE_PRIORITY,
        )
    alert.relayed_version = alert.updated_at
    return len(organizations)


async def _store(
    ctx: InboxContext, fields: dict[str, Any], document: dict[str, Any], *, hops: int
) -> None:
    """Insert or update the alert we were given, then relay this version if it is new to us.

    Nothing from an origin the admin blocked: neither stored nor relayed.
    """
    async with ctx.transaction() as session:
        if fields["origin_host"] in (await relaying(session)).blocked_hosts:
            log.info("alert %s from a blocked origin ignored", fields["uri"])
            return
        alert = await by_uri(session, fields["uri"])
        if alert is None:
            alert = Alert(
                is_local=False,
                document=document,
                received_at=utcnow(),
                received_via=ctx.actor.uri,
                hops=min(hops, MAX_HOPS),
                **fields,
            )
            session.add(alert)
            await session.flush()
        elif alert.is_local or alert.origin_host != fields["origin_host"]:
            return
        elif fields["updated_at"] > alert.updated_at:
            for name, value in fields.items():
                if name != "published_at":
                    setattr(alert, name, value)
            alert.document = document
        else:
            return  # as new or newer already: nothing to store, nothing to relay
        await relay(ctx.federation, session, alert)


async def _origin_name(ctx: InboxContext, uri: str) -> str | None:
    try:
        actor = await ctx.federation.actors.get(uri)
    except (FetchError, ActorError):
        return None  # the alert stands without its organization's name
    return actor.name or actor.username


async def on_create_or_update(ctx: InboxContext) -> None:
    obj = ctx.object
    if not is_alert(obj) or host_of(str(obj.get("id"))) != host_of(ctx.actor.uri):
        return
    try:
        fields = alert_fields(obj)
    except NotAnAlert as exc:
        log.info("ignored alert from %s: %s", ctx.actor.uri, exc)
        return
    async with ctx.federation.db.read() as session:
        if not await followed(session, ctx.actor.uri):
            return
    fields["origin_name"] = await _origin_name(ctx, fields["origin_actor_uri"])
    await _store(ctx, fields, obj, hops=1)


async def on_announce(ctx: InboxContext) -> None:
    """An alert boosted by an actor we follow: believed only as its origin serves it."""
    object_id = ctx.object_id
    if object_id is None:
        return
    async with ctx.federation.db.read() as session:
        if not await followed(session, ctx.actor.uri):
            return
        if host_of(object_id) in (await relaying(session)).blocked_hosts:
            return  # not even fetched
        held = await by_uri(session, object_id)
    if held is not None and held.is_local:
        return
    try:
        document = await ctx.federation.client.get_json(
            object_id, signer=ctx.federation.actors.signer
        )
    except FetchError as exc:
        if exc.status == 410 and held is not None:
            await _withdrawn(ctx, object_id)
        else:
            log.info("announced %s refused: %s", object_id, exc)
        return
    if document.get("id") != object_id or not is_alert(document):
        return
    try:
        fields = alert_fields(document)
    except NotAnAlert as exc:
        log.info("announced alert %s refused: %s", object_id, exc)
        return
    previous = ctx.activity.get("hops")
    hops = previous + 1 if isinstance(previous, int) and previous >= 0 else 2
    fields["origin_name"] = await _origin_name(ctx, fields["origin_actor_uri"])
    await _store(ctx, fields, document, hops=hops)


async def _withdrawn(ctx: InboxContext, uri: str) -> None:
    async with ctx.transaction() as session:
        alert = (
            await session.execute(
                select(Alert).where(
                    Alert.uri == uri, Alert.is_local.is_(False), Alert.deleted_at.is_(None)
                )
            )
        ).scalar_one_or_none()
        if alert is not None:
            alert.deleted_at = utcnow()
            await _undo_relays(ctx.federation, session, alert)


async def _undo_relays(federation: Federation, session: AsyncSession, alert: Alert) -> None:
    """Those who announced a withdrawn alert take their boosts back (`Undo`)."""
    rows = (
        await session.execute(
            select(OutboxActivity, LocalActor)
            .join(LocalActor, OutboxActivity.local_actor_id == LocalActor.id)
            .where(
                OutboxActivity.object_uri == alert.uri,
                OutboxActivity.activity_type == "Announce",
            )
        )
    ).all()
    for outbox, actor in rows:
        announce = {key: value for key, value in outbox.body.items() if key != "@context"}
        await enqueue(
            session,
            {
                "@context": ALERT_CONTEXT,
                "id": federation.new_id(),
                "type": "Undo",
                "actor": actor.uri,
                "object": announce,
                "to": [PUBLIC],
                "cc": [actor.followers_uri],
            },
            actor=actor,
            own_host=federation.own_host,
            followers_of=[actor],
            priority=LANE_PRIORITY,
        )
        outbox.public = False


async def on_delete(ctx: InboxContext) -> None:
    target = ctx.object_id
    if target is None or host_of(target) != host_of(ctx.actor.uri):
        return
    await _withdrawn(ctx, target)


async def on_undo(ctx: InboxContext) -> None:
    """An undone boost of an alert we hold: withdrawn only if its origin says it is gone."""
    obj = ctx.object
    if not (isinstance(obj, dict) and obj.get("type") == "Announce"):
        return
    target = first_id(obj.get("object"))
    if target is None:
        return
    async with ctx.federation.db.read() as session:
        held = await by_uri(session, target)
    if held is None or held.is_local or held.deleted_at is not None:
        return
    try:
        await ctx.federation.client.get_json(target, signer=ctx.federation.actors.signer)
    except FetchError as exc:
        if exc.status in (404, 410):
            await _withdrawn(ctx, target)


def register(registry: HandlerRegistry) -> None:
    registry.add("Create", on_create_or_update)
    registry.add("Update", on_create_or_update)
    registry.add("Announce", on_announce)
    registry.add("Delete", on_delete)
    registry.add("Undo", on_undo)
