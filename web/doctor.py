"""`iwsn doctor`: a running node checked the way its admin needs it to work.

Each check says in plain words what it found and, when something is wrong, what to do. The
web checks go out the way other servers come in: by the public name, through DNS and the
proxy, over HTTPS with the certificate verified (and the same SSRF guard and extra CA as the
node's own client). Nothing is written: doctor may run at any time, as often as wanted.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import func, select

from actors.mail import smtp
from federation import heartbeats
from federation.client import tls_context
from federation.db import Database, utcnow
from federation.models import (
    Delivery,
    DeliveryState,
    Follower,
    Following,
    InboxState,
    ReceivedActivity,
)
from federation.netguard import ForbiddenAddress, GuardedResolver, check_url
from web import backup
from web.settings import Settings

OK, WARN, FAIL = "ok", "warn", "FAIL"
# Signatures are refused when their Date is an hour off (federation.signatures): well
# before that, deliveries to stricter servers fail.
CLOCK_WARN = timedelta(seconds=30)
CLOCK_FAIL = timedelta(minutes=5)
# New work wakes a worker at once; past this, nothing is taking it.
STUCK = timedelta(minutes=2)


@dataclass(frozen=True)
class Finding:
    status: str
    check: str
    words: str


class Doctor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.findings: list[Finding] = []
        self.peer_dates: list[tuple[str, timedelta]] = []

    def note(self, status: str, check: str, words: str) -> None:
        self.findings.append(Finding(status, check, words))

    async def run(self) -> list[Finding]:
        self.configuration()
        await self.smtp()
        db = Database(self.settings.database_url)
        try:
            if await self.database(db):
                await self.queue(db)
                peers = await self.peers(db)
            else:
                peers = []
        finally:
            await db.engine.dispose()
            await db.read_engine.dispose()
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(
                allow_local=self.settings.local_dev, allowed=self.settings.allowed_private
            ),
            ssl=tls_context(self.settings.ca_file),
        )
        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            await self.public_web(http)
            await self.clock(http, peers)
        return self.findings

    def configuration(self) -> None:
        if self.settings.local_dev:
            self.note(
                WARN,
                "settings",
                "IWSN_LOCAL_DEV=1: plain http and private addresses are allowed. "
                "Never on a public node.",
            )
        else:
            self.note(OK, "settings", f"production settings for {self.settings.base_url}/")

    async def smtp(self) -> None:
        """Connect to the mail server as the mail worker does; send nothing."""
        server = self.settings.smtp
        if server is None:
            self.note(
                WARN,
                "mail",
                "not set (IWSN_SMTP_URL): the node keeps its mail in the queue, unsent; "
                "the admin pages show it as not sent",
            )
            return
        where = f"{server.host}:{server.port}"
        try:
            done = await smtp.check(server)
        except smtp.SendFailed as failure:
            self.note(FAIL, "mail", f"{where} does not work: {failure.reason}")
            return
        self.note(OK, "mail", f"{where} works: {done}; mail comes from {self.settings.mail_from}")

    async def database(self, db: Database) -> bool:
        try:
            async with db.read() as session:
                connection = await session.connection()
                revision = await connection.run_sync(backup.current_revision)
        except Exception as exc:  # any failure to reach it is the finding itself
            self.note(
                FAIL,
                "database",
                f"cannot reach the database ({type(exc).__name__}: {exc}). "
                "Is PostgreSQL running, and IWSN_DATABASE_URL right?",
            )
            return False
        head = backup.head_revision()
        if revision != head:
            self.note(
                FAIL,
                "database",
                f"the schema is at {revision or 'nothing'}, this version needs {head}: "
                "run `iwsn setup` (or start the node, which upgrades it)",
            )
            return False
        self.note(OK, "database", f"reachable, schema up to date ({head})")
        return True

    async def queue(self, db: Database) -> None:
        now = utcnow()
        async with db.read() as session:
            waiting = await session.scalar(
                select(func.min(Delivery.next_attempt_at)).where(
                    Delivery.state == DeliveryState.PENDING, Delivery.attempts == 0
                )
            )
            received = await session.scalar(
                select(func.min(ReceivedActivity.received_at)).where(
                    ReceivedActivity.state == InboxState.PENDING, ReceivedActivity.attempts == 0
                )
            )
            dead = await session.scalar(
                select(func.count(Delivery.id)).where(Delivery.state == DeliveryState.DEAD)
            )
        stuck = [
            f"{what} has waited {_minutes(now - since)}"
            for what, since in (("a new delivery", waiting), ("a received activity", received))
            if since is not None and now - since > STUCK
        ]
        running = await heartbeats.alive(db, now=now)
        start_one = (
            "Start `iwsn worker` (docker compose: the worker service), or `iwsn serve` "
            "without --no-workers."
        )
        if stuck:
            self.note(
                FAIL,
                "workers",
                f"{' and '.join(stuck)} without being taken: no worker is running. {start_one}",
            )
        elif not running:
            last = await heartbeats.last_beat(db)
            since = (
                f"the last one stopped {_minutes(now - last)} ago"
                if last is not None
                else "none has run yet"
            )
            self.note(
                FAIL,
                "workers",
                f"no process is running the background work ({since}): nothing would be "
                f"delivered or received. {start_one}",
            )
        else:
            names = ", ".join(row.name for row in running)
            self.note(
                OK,
                "workers",
                f"{len(running)} running ({names}), nothing new is waiting: the queue moves",
            )
        if dead:
            self.note(
                WARN,
                "deliveries",
                f"{dead} deliveries were given up after days of retries: `iwsn deliveries` "
                "says to which servers",
            )

    async def peers(self, db: Database) -> list[str]:
        async with db.read() as session:
            uris = list(
                (await session.execute(select(Following.target_uri).limit(20))).scalars()
            ) + list((await session.execute(select(Follower.actor_uri).limit(20))).scalars())
        hosts: list[str] = []
        for uri in uris:
            host = urlsplit(uri).netloc
            if host and host != self.settings.domain and host not in hosts:
                hosts.append(host)
        return hosts[:3]

    async def public_web(self, http: aiohttp.ClientSession) -> None:
        base = self.settings.base_url
        org = self.settings.org_name
        checks: list[tuple[str, str, Callable[[Any], str | None]]] = [
            ("nodeinfo", f"{base}/.well-known/nodeinfo", _nodeinfo_problem),
            (
                "webfinger",
                f"{base}/.well-known/webfinger?resource=acct:{org}@{self.settings.domain}",
                lambda document: _webfinger_problem(document, f"{base}/actors/{org}"),
            ),
        ]
        for name, url, problem in checks:
            try:
                check_url(
                    url,
                    allow_local=self.settings.local_dev,
                    allow_http=self.settings.local_dev,
                    allowed=self.settings.allowed_private,
                )
                async with http.get(url, headers={"Accept": "application/json"}) as response:
                    if response.status != 200:
                        self.note(FAIL, name, f"{url} answered HTTP {response.status}")
                        continue
                    document = await response.json(content_type=None)
            except (aiohttp.ClientError, ForbiddenAddress, ValueError, TimeoutError) as exc:
                self.note(FAIL, name, f"{url} cannot be reached from here: {_why(exc)}")
                continue
            found = problem(document)
            if found:
                self.note(FAIL, name, f"{url}: {found}")
                continue
            self.note(OK, name, f"{url} answers")
            if name == "nodeinfo" and self.settings.scheme == "https":
                await self.certificate()

    async def certificate(self) -> None:
        # The page answered over verified HTTPS already: what is left to know is how long the
        # certificate lasts. A handshake of its own gets it, from the same public address.
        host, _, port = self.settings.domain.partition(":")
        context = tls_context(self.settings.ca_file)
        if not isinstance(context, ssl.SSLContext):
            context = ssl.create_default_context()
        try:
            async with asyncio.timeout(15):
                _reader, writer = await asyncio.open_connection(
                    host, int(port or 443), ssl=context, server_hostname=host
                )
        except (OSError, TimeoutError) as exc:
            self.note(FAIL, "certificate", f"no TLS handshake with {host}: {exc}")
            return
        certificate = writer.get_extra_info("peercert") or {}
        writer.close()
        if "notAfter" not in certificate or "notBefore" not in certificate:
            return
        starts, ends = (
            datetime.fromtimestamp(ssl.cert_time_to_seconds(certificate[key]), UTC)
            for key in ("notBefore", "notAfter")
        )
        left = ends - datetime.now(UTC)
        shown = f"{left.days} more days" if left.days >= 2 else f"{_hours(left)} more hours"
        # ACME clients renew with a third of the lifetime left (30 of Let's Encrypt's 90
        # days): a quarter left means renewal has been failing for a while.
        if left < (ends - starts) / 4:
            self.note(
                WARN,
                "certificate",
                f"valid for {shown} only: the proxy should have renewed it by now "
                "(Caddy: its logs; certbot: `certbot renew`)",
            )
        else:
            self.note(OK, "certificate", f"valid for {shown}")

    async def clock(self, http: aiohttp.ClientSession, peers: list[str]) -> None:
        offsets: list[tuple[str, timedelta]] = []
        for host in peers:
            url = f"{'http' if self.settings.local_dev else 'https'}://{host}/.well-known/nodeinfo"
            try:
                check_url(
                    url,
                    allow_local=self.settings.local_dev,
                    allow_http=self.settings.local_dev,
                    allowed=self.settings.allowed_private,
                )
                async with http.get(url) as response:
                    date = response.headers.get("Date")
                    received = datetime.now(UTC)
                if date:
                    offsets.append((host, received - parsedate_to_datetime(date)))
            except (aiohttp.ClientError, ForbiddenAddress, ValueError, TimeoutError, TypeError):
                continue
        if not offsets:
            self.note(
                WARN,
                "clock",
                "no other server to compare the clock with yet: make sure NTP keeps it right "
                "(timedatectl), signatures are refused when it is off",
            )
            return
        host, worst = max(offsets, key=lambda item: abs(item[1]))
        # HTTP dates have whole seconds: a second or so is no difference at all.
        seconds = abs(worst.total_seconds())
        words = f"within {max(seconds, 1):.0f} s of {host}'s (of {len(offsets)} servers compared)"
        if abs(worst) > CLOCK_FAIL:
            self.note(FAIL, "clock", f"{words}: other servers refuse our signatures. Fix NTP.")
        elif abs(worst) > CLOCK_WARN:
            self.note(WARN, "clock", f"{words}: check NTP (timedatectl)")
        else:
            self.note(OK, "clock", words)


def _nodeinfo_problem(document: Any) -> str | None:
    links = document.get("links") if isinstance(document, dict) else None
    if not links:
        return "answers, but not with NodeInfo: is the proxy sending it to the node?"
    return None


def _webfinger_problem(document: Any, actor: str) -> str | None:
    links = document.get("links", []) if isinstance(document, dict) else []
    if not any(link.get("rel") == "self" and link.get("href") == actor for link in links):
        return f"answers, but does not point to {actor}: is IWSN_DOMAIN the public name?"
    return None


def _why(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"its certificate is not valid ({exc.certificate_error})"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "the name does not resolve (DNS), or resolves to a private address"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"nothing answers on port {exc.port} ({exc.os_error.strerror or exc.os_error})"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return str(exc) or type(exc).__name__


def _hours(span: timedelta) -> int:
    return max(int(span.total_seconds() // 3600), 0)


def _minutes(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes} minutes" if minutes != 1 else "1 minute"


async def examine(settings: Settings) -> list[Finding]:
    return await Doctor(settings).run()
