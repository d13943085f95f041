"""Signing on to the call: the rules, the entry points that change a signature, and the reads.

A signature counts once its e-mail link is followed (or an admin confirms it by hand). One
address signs once: signing again with it changes the signature, unless it was confirmed, in
which case only the owner of the address may change it, through the personal link the mail
carries. Each change of the confirmed count is told to the node's followers at once
(`signatures_to_as.update`), so every node showing the network's count hears it in seconds.

The e-mail and every name not chosen for the public list stay here; the reads that pages and
the wire use (`public_signatures`, `public_lists`) return only what is public.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors import countries, signatures_to_as
from actors.errors import Message, NotFound, Problems
from actors.mail import addresses
from actors.mail import queue as mail_queue
from actors.mail.queue import MailQueue
from actors.models import NetworkCount, Organization, Signature, SignatureState
from actors.signatures_to_as import PublicOrganization, PublicSignatures
from actors.text import strip_controls
from actors.urls import http_url
from actors.vocabulary import ORGANIZATION_KINDS, SIGNER_KINDS
from federation.as2 import first_id, parse_datetime
from federation.db import Database, utcnow
from federation.models import Following, LocalActor, RemoteActor
from federation.node import INSTANCE_USERNAME, Federation
from federation.uris import host_of

MAX_NAME = 200
MAX_CITY = 200
MAX_COMMENT = 2000
# The most of each public list a page shows; the counts are always whole.
PUBLIC_LIST_LIMIT = 300
# A count larger than everyone alive is a lie, not a count.
MAX_REMOTE_TOTAL = 10_000_000_000

# A tag, a comment or a processing instruction: nothing a signer needs to write.
_MARKUP = re.compile(r"<\s*[a-zA-Z!/?]")


def normalized_email(text: str) -> str | None:
    """The address as one signer's key: a mailbox the mail queue takes (`actors.mail`),
    case-folded whole; None when it is not one."""
    value = addresses.normalized(text)
    return value.casefold() if value is not None else None


def _token() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignatureInput:
    """What a signer writes, as the form (or a test) gives it: text, unchecked."""

    name: str = ""
    email: str = ""
    signer: str = "individual"
    organization_name: str = ""
    organization_kind: str = ""
    website: str = ""
    country: str = ""
    city: str = ""
    comment: str = ""
    public: bool = False
    wants_membership: bool = False
    language: str = "en"


def _line(problems: Problems, name: str, value: str, limit: int) -> str:
    text = " ".join(strip_controls(value).split())
    if len(text) > limit:
        problems.add(name, Message.FIELD_TOO_LONG, limit=limit)
    elif _MARKUP.search(text):
        problems.add(name, Message.NO_MARKUP)
    return text


def check(given: SignatureInput, *, with_email: bool = True) -> dict[str, Any]:
    """The fields to store, or ValidationError with everything wrong at once."""
    problems = Problems()
    name = _line(problems, "name", given.name, MAX_NAME)
    if not name and "name" not in problems:
        problems.add("name", Message.YOUR_NAME_REQUIRED)
    email: str | None = None
    if with_email:
        if not given.email.strip():
            problems.add("email", Message.SIGN_EMAIL_REQUIRED)
        else:
            email = normalized_email(given.email)
            if email is None:
                problems.add("email", Message.EMAIL_INVALID)
    signer = given.signer.strip()
    if signer not in SIGNER_KINDS:
        problems.add("signer", Message.SIGNER_UNKNOWN)
    organization = signer == "organization"
    org_name = _line(problems, "organization_name", given.organization_name, MAX_NAME)
    org_kind = given.organization_kind.strip()
    website_text = given.website.strip()
    website: str | None = None
    if organization:
        if not org_name and "organization_name" not in problems:
            problems.add("organization_name", Message.ORGANIZATION_NAME_REQUIRED)
        if org_kind not in ORGANIZATION_KINDS:
            problems.add("organization_kind", Message.ORGANIZATION_KIND_UNKNOWN)
        if website_text:
            website = http_url(website_text)
            if website is None:
                problems.add("website", Message.WEBSITE_NOT_HTTP)
    country = countries.normalize(given.country) if given.country.strip() else None
    if given.country.strip() and (country is None or not countries.known(country)):
        problems.add("country", Message.COUNTRY_UNKNOWN, value=given.country.strip()[:20])
    city = _line(problems, "city", given.city, MAX_CITY)
    comment = strip_controls(given.comment).strip()
    if len(comment) > MAX_COMMENT:
        problems.add("comment", Message.FIELD_TOO_LONG, limit=MAX_COMMENT)
    elif _MARKUP.search(comment):
        problems.add("comment", Message.NO_MARKUP)
    problems.raise_any()
    fields: dict[str, Any] = {
        "name": name,
        "signer": signer,
        "organization_name": org_name if organization else None,
        "organization_kind": org_kind if organization else None,
        "website": website,
        "country": country,
        "city": city or None,
        "comment": comment,
        "public": bool(given.public),
        "wants_membership": organization and bool(given.wants_membership),
        "language": given.language,
    }
    if with_email:
        fields["email"] = email
    return fields


@dataclass(frozen=True)
class SignatureMail:
    """A mail to a signer, ready for the mail queue: its template, language and values."""

    to: str
    language: str
    template: str
    context: Mapping[str, Any]


def confirmation_mail(
    base_url: str, signature: Signature, *, confirm_token: str | None, manage_token: str
) -> SignatureMail:
    """What to send after someone signs: the link that confirms it (when it still waits for
    one), and in every case the personal link to change or withdraw it."""
    context: dict[str, Any] = {
        "name": signature.name,
        "manage_url": f"{base_url}/sign/manage/{manage_token}",
        "already_confirmed": signature.confirmed_at is not None,
    }
    if confirm_token is not None:
        context["confirm_url"] = f"{base_url}/sign/confirm/{confirm_token}"
    return SignatureMail(signature.email, signature.language, "signature_confirm", context)


@dataclass(frozen=True)
class Signed:
    """What `sign` did. The page says the same whatever happened (it must not tell a stranger
    whether an address has signed); the mail says the rest. Without a mail (`may_mail` said
    no) there are no new links either: the last mail's still work."""

    signature_id: int
    mail: SignatureMail | None
    confirm_token: str | None
    manage_token: str | None


async def sign(
    federation: Federation,
    given: SignatureInput,
    *,
    mail: MailQueue | None = None,
    may_mail: Callable[[str], Awaitable[bool]] | None = None,
) -> Signed:
    """Sign on, or sign again with the same address; the mail with the links is queued in the
    same transaction (`mail`: the node's queue; without it, for tests and the admin's hand,
    the links are only returned). Signing again is how a signer who lost the mail gets it
    again: `may_mail(address)` (a limit per address, shared by web processes) decides whether
    this time sends it, so nobody can flood an address by signing with it over and over."""
    fields = check(given)
    mailing = may_mail is None or await may_mail(fields["email"])
    base_url = federation.config.base_url
    async with federation.db.transaction() as session:
        signature = (
            await session.execute(select(Signature).where(Signature.email == fields["email"]))
        ).scalar_one_or_none()
        if signature is None:
            signature = Signature(**fields, created_at=utcnow())
            session.add(signature)
        elif signature.confirmed_at is None:
            for name, value in fields.items():
                setattr(signature, name, value)
        # A confirmed signature is changed only through its owner's link: anyone may type an
        # address, so signing again with it only sends that link to the address.
        signature.updated_at = utcnow()
        if not mailing:
            await session.flush()
            return Signed(signature.id, None, None, None)
        return await _queue_links(base_url, session, signature, mail)


async def _queue_links(
    base_url: str, session: AsyncSession, signature: Signature, mail: MailQueue | None
) -> Signed:
    """New links for the signature (the old ones stop working), mailed in the transaction."""
    confirm_token = None
    if signature.confirmed_at is None:
        confirm_token, signature.confirm_token_hash = _token()
    manage_token, signature.manage_token_hash = _token()
    await session.flush()
    message = confirmation_mail(
        base_url, signature, confirm_token=confirm_token, manage_token=manage_token
    )
    if mail is not None:
        await mail.enqueue(
            session,
            to=message.to,
            language=message.language,
            template=message.template,
            context=message.context,
        )
    return Signed(signature.id, message, confirm_token, manage_token)


class Confirmation(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY = "already"  # the link was followed before
    UNKNOWN = "unknown"  # no such link: forged, or the signature was withdrawn
    WAITING = "waiting"  # not followed yet


async def confirmation_state(session: AsyncSession, token: str) -> Confirmation:
    confirmed_at = (
        await session.execute(
            select(Signature.id, Signature.confirmed_at).where(
                Signature.confirm_token_hash == token_hash(token)
            )
        )
    ).first()
    if confirmed_at is None:
        return Confirmation.UNKNOWN
    return Confirmation.WAITING if confirmed_at[1] is None else Confirmation.ALREADY


async def confirm(federation: Federation, token: str) -> Confirmation:
    async with federation.db.transaction() as session:
        signature = (
            await session.execute(
                select(Signature).where(Signature.confirm_token_hash == token_hash(token))
            )
        ).scalar_one_or_none()
        if signature is None:
            return Confirmation.UNKNOWN
        if signature.confirmed_at is not None:
            return Confirmation.ALREADY
        signature.confirmed_at = signature.updated_at = utcnow()
        await count_changed(federation, session)
    return Confirmation.CONFIRMED


async def by_manage_token(session: AsyncSession, token: str) -> Signature | None:
    return (
        await session.execute(
            select(Signature).where(Signature.manage_token_hash == token_hash(token))
        )
    ).scalar_one_or_none()


async def change(federation: Federation, token: str, given: SignatureInput) -> Signature:
    """The signer changes their signature through their link (the address stays)."""
    fields = check(given, with_email=False)
    async with federation.db.transaction() as session:
        signature = await by_manage_token(session, token)
        if signature is None:
            raise NotFound(Message.SIGNATURE_NOT_FOUND)
        for name, value in fields.items():
            setattr(signature, name, value)
        signature.updated_at = utcnow()
        if signature.confirmed_at is not None:
            await count_changed(federation, session)
    return signature


async def withdraw(federation: Federation, token: str) -> bool:
    """The signer withdraws: the row, their address with it, is deleted. False: no such link."""
    async with federation.db.transaction() as session:
        signature = await by_manage_token(session, token)
        if signature is None:
            return False
        await _erase(federation, session, signature)
    return True


async def _erase(federation: Federation, session: AsyncSession, signature: Signature) -> None:
    counted = signature.confirmed_at is not None
    # Erased means erased: no mail still waiting keeps the address either.
    await mail_queue.cancel_waiting(session, signature.email, batched_only=False)
    await session.delete(signature)
    await session.flush()
    if counted:
        await count_changed(federation, session)


# The admin's hand.


async def confirm_by_admin(federation: Federation, signature_id: int) -> None:
    async with federation.db.transaction() as session:
        signature = await session.get(Signature, signature_id)
        if signature is None:
            raise NotFound(Message.SIGNATURE_NOT_FOUND, str(signature_id))
        if signature.confirmed_at is None:
            signature.confirmed_at = signature.updated_at = utcnow()
            await count_changed(federation, session)


async def remove_by_admin(federation: Federation, signature_id: int) -> None:
    async with federation.db.transaction() as session:
        signature = await session.get(Signature, signature_id)
        if signature is None:
            raise NotFound(Message.SIGNATURE_NOT_FOUND, str(signature_id))
        await _erase(federation, session, signature)


async def resend_links(federation: Federation, signature_id: int, mail: MailQueue) -> None:
    """The admin sends a signer their mail again, with new links (the old ones stop working):
    the confirmation link if it still waits for one, the personal link in every case."""
    async with federation.db.transaction() as session:
        signature = await session.get(Signature, signature_id)
        if signature is None:
            raise NotFound(Message.SIGNATURE_NOT_FOUND, str(signature_id))
        await _queue_links(federation.config.base_url, session, signature, mail)


async def new_links(db: Database, signature_id: int) -> tuple[str | None, str]:
    """Fresh links for a signature (the old ones stop working): (confirm or None, manage)."""
    async with db.transaction() as session:
        signature = await session.get(Signature, signature_id)
        if signature is None:
            raise NotFound(Message.SIGNATURE_NOT_FOUND, str(signature_id))
        confirm_token = None
        if signature.confirmed_at is None:
            confirm_token, signature.confirm_token_hash = _token()
        manage_token, signature.manage_token_hash = _token()
    return confirm_token, manage_token


def _search(query: str) -> Select[Any]:
    statement = select(Signature)
    words = query.strip().casefold()
    if words:
        like = f"%{words.replace('%', '').replace('_', '')}%"
        statement = statement.where(
            or_(
                Signature.email.like(like),
                func.lower(Signature.name).like(like),
                func.lower(Signature.organization_name).like(like),
                func.lower(Signature.city).like(like),
            )
        )
    return statement


async def search(
    session: AsyncSession, query: str = "", *, state: str = "", limit: int = 100, offset: int = 0
) -> tuple[list[Signature], int]:
    """For the admin: signatures matching `query` (any state, or `confirmed`, `waiting`,
    `join` for organizations asking to join), newest first, and how many match."""
    statement = _search(query)
    if state == "confirmed":
        statement = statement.where(Signature.confirmed_at.is_not(None))
    elif state == "waiting":
        statement = statement.where(Signature.confirmed_at.is_(None))
    elif state == "join":
        statement = statement.where(Signature.wants_membership.is_(True))
    total = (
        await session.execute(select(func.count()).select_from(statement.subquery()))
    ).scalar_one()
    rows = await session.execute(
        statement.order_by(Signature.created_at.desc(), Signature.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), total


async def confirmed(session: AsyncSession) -> AsyncIterator[Signature]:
    """Every confirmed signature, oldest first, for an export."""
    result = await session.stream(
        select(Signature)
        .where(Signature.confirmed_at.is_not(None))
        .order_by(Signature.confirmed_at, Signature.id)
    )
    async for signature in result.scalars():
        yield signature


async def get(session: AsyncSession, signature_id: int) -> Signature:
    signature = await session.get(Signature, signature_id)
    if signature is None:
        raise NotFound(Message.SIGNATURE_NOT_FOUND, str(signature_id))
    return signature


async def counts_by_state(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Signature.confirmed_at.is_not(None), func.count()).group_by(
            Signature.confirmed_at.is_not(None)
        )
    )
    found = {"confirmed": 0, "waiting": 0}
    for is_confirmed, count in rows:
        found["confirmed" if is_confirmed else "waiting"] += count
    return found


# What anyone may know.


async def confirmed_count(session: AsyncSession) -> int:
    return (
        await session.execute(
            select(func.count(Signature.id)).where(Signature.confirmed_at.is_not(None))
        )
    ).scalar_one()


async def public_signatures(session: AsyncSession, *, counted: bool = False) -> PublicSignatures:
    """The count and the organizations shown publicly: what the wire carries. `counted`:
    count now (a change is being made); else the count kept with the version."""
    if counted:
        total, updated = await confirmed_count(session), utcnow()
    else:
        kept = await state(session)
        total, updated = kept.confirmed, kept.changed_at or utcnow()
    rows = await session.execute(
        select(
            Signature.organization_name,
            Signature.organization_kind,
            Signature.website,
            Signature.country,
        )
        .where(
            Signature.confirmed_at.is_not(None),
            Signature.public.is_(True),
            Signature.signer == "organization",
        )
        .order_by(Signature.confirmed_at, Signature.id)
        .limit(signatures_to_as.MAX_ITEMS)
    )
    organizations = [
        PublicOrganization(name or "", kind or "other", website, country)
        for name, kind, website, country in rows
    ]
    return PublicSignatures(total, organizations, updated)


@dataclass(frozen=True)
class PublicPerson:
    name: str
    city: str | None
    country: str | None


@dataclass
class PublicLists:
    """What the public page shows of this node's signatures."""

    total: int
    organizations: list[PublicOrganization]
    people: list[PublicPerson]
    public_people: int
    by_country: list[tuple[str, int]] = field(default_factory=list)


async def public_lists(session: AsyncSession) -> PublicLists:
    counted = Signature.confirmed_at.is_not(None)
    shown = (counted, Signature.public.is_(True))
    total = (await state(session)).confirmed
    organizations = [
        PublicOrganization(name or "", kind or "other", website, country)
        for name, kind, website, country in await session.execute(
            select(
                Signature.organization_name,
                Signature.organization_kind,
                Signature.website,
                Signature.country,
            )
            .where(*shown, Signature.signer == "organization")
            .order_by(Signature.confirmed_at, Signature.id)
            .limit(PUBLIC_LIST_LIMIT)
        )
    ]
    people = [
        PublicPerson(name, city, country)
        for name, city, country in await session.execute(
            select(Signature.name, Signature.city, Signature.country)
            .where(*shown, Signature.signer == "individual")
            .order_by(Signature.confirmed_at.desc(), Signature.id.desc())
            .limit(PUBLIC_LIST_LIMIT)
        )
    ]
    public_people = (
        await session.execute(
            select(func.count(Signature.id)).where(*shown, Signature.signer == "individual")
        )
    ).scalar_one()
    by_country = [
        (country or "", count)
        for country, count in await session.execute(
            select(Signature.country, func.count(Signature.id))
            .where(counted, Signature.country.is_not(None))
            .group_by(Signature.country)
            .order_by(func.count(Signature.id).desc(), Signature.country)
        )
    ]
    return PublicLists(total, organizations, people, public_people, by_country)


# Counted across the network.


async def count_changed(federation: Federation, session: AsyncSession) -> None:
    """What the public sees of the signatures changed: move the version on, store the count,
    and tell the followers of the node, and of its organizations, in the transaction of the
    change."""
    await session.flush()
    # Locked before counting: a change committing meanwhile is waited for, then counted.
    state = await session.get(SignatureState, 1, with_for_update=True)
    if state is None:
        state = SignatureState(id=1, version=0, confirmed=0)
        session.add(state)
    public = await public_signatures(session, counted=True)
    state.version += 1
    state.confirmed = public.total
    state.changed_at = public.updated
    instance = await federation.local_actor_by_username(session, INSTANCE_USERNAME)
    if instance is None:
        return
    organizations = (
        await session.execute(
            select(LocalActor).join(Organization, Organization.local_actor_id == LocalActor.id)
        )
    ).scalars()
    activity = signatures_to_as.update(
        federation.config.base_url, federation.new_id, instance, public
    )
    await federation.enqueue(
        session, activity, actor=instance, followers_of=[instance, *organizations]
    )


@dataclass(frozen=True)
class State:
    """The version of what the public sees, the confirmed count and when it last changed."""

    version: int
    confirmed: int
    changed_at: datetime | None


async def state(session: AsyncSession) -> State:
    row = await session.get(SignatureState, 1)
    if row is None:
        return State(0, 0, None)
    return State(row.version, row.confirmed, row.changed_at)


def _remote_total(document: Any) -> int | None:
    if not isinstance(document, dict) or document.get("callSignatures") is not True:
        return None
    if document.get("type") not in ("OrderedCollection", "Collection"):
        return None
    total = document.get("totalItems")
    if isinstance(total, bool) or not isinstance(total, int):
        return None
    return total if 0 <= total <= MAX_REMOTE_TOTAL else None


async def record_remote_count(
    session: AsyncSession, sender_uri: str, document: Any, *, now: datetime | None = None
) -> bool:
    """Keep what a node says of its own count. False when refused: not a count of signatures,
    or a collection on another host than the sender's (a node speaks only for itself), or older
    than what we hold."""
    total = _remote_total(document)
    uri = first_id(document) if isinstance(document, dict) else None
    if total is None or uri is None:
        return False
    host = host_of(uri)
    if not host or host != host_of(sender_uri):
        return False
    updated = parse_datetime(document.get("updated"))
    row = (
        await session.execute(select(NetworkCount).where(NetworkCount.collection_uri == uri))
    ).scalar_one_or_none()
    if row is None:
        row = NetworkCount(collection_uri=uri, host=host)
        session.add(row)
    elif row.origin_updated and updated and updated < row.origin_updated:
        return False
    row.total = total
    row.origin_updated = updated
    row.received_at = now or utcnow()
    return True


@dataclass(frozen=True)
class NodeCount:
    host: str
    total: int
    received_at: datetime


@dataclass(frozen=True)
class NetworkTotal:
    """This node's count and the last known count of each node it follows."""

    own: int
    others: list[NodeCount]

    @property
    def total(self) -> int:
        return self.own + sum(node.total for node in self.others)

    @property
    def nodes(self) -> int:
        return 1 + len(self.others)


async def followed_hosts(session: AsyncSession) -> set[str]:
    """The hosts of the actors we follow (the whole node, or one of its organizations)."""
    rows = await session.execute(
        select(RemoteActor.host)
        .join(Following, Following.target_uri == RemoteActor.uri)
        .where(Following.state == "accepted")
        .distinct()
    )
    return {host for (host,) in rows}


async def network_total(session: AsyncSession, *, own: int | None = None) -> NetworkTotal:
    """No fetch here: what the followed nodes last told us, however long ago. `own`: this
    node's count, when the caller has read it already."""
    if own is None:
        own = (await state(session)).confirmed
    hosts = await followed_hosts(session)
    others: dict[str, NodeCount] = {}
    if hosts:
        rows = await session.execute(
            select(NetworkCount.host, NetworkCount.total, NetworkCount.received_at)
            .where(NetworkCount.host.in_(hosts))
            .order_by(NetworkCount.received_at)
        )
        for host, total, received_at in rows:
            others[host] = NodeCount(host, total, received_at)  # the latest per host wins
    return NetworkTotal(own, sorted(others.values(), key=lambda node: node.host))
