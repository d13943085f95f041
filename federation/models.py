"""Tables of the protocol layer: local keys, remote actors, the social graph, the queues."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from federation import content_version
from federation.db import Base, EnumText, UTCDateTime, utcnow

URI = String(2048)


class LocalActor(Base):
    """An actor this node speaks for; the domain decides what it is (organization, instance)."""

    __tablename__ = "local_actors"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    actor_type: Mapped[str] = mapped_column(String(32))
    inbox_uri: Mapped[str] = mapped_column(URI)
    outbox_uri: Mapped[str] = mapped_column(URI)
    followers_uri: Mapped[str] = mapped_column(URI)
    following_uri: Mapped[str] = mapped_column(URI)
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_key_pem: Mapped[str] = mapped_column(Text)
    manually_approves_followers: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def key_id(self) -> str:
        return f"{self.uri}#main-key"


class RemoteActor(Base):
    """Cache of actors on other servers: what we need to verify them and deliver to them."""

    __tablename__ = "remote_actors"

    uri: Mapped[str] = mapped_column(URI, primary_key=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    actor_type: Mapped[str] = mapped_column(String(32))
    username: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(Text)
    inbox: Mapped[str] = mapped_column(URI)
    shared_inbox: Mapped[str | None] = mapped_column(URI)
    key_id: Mapped[str | None] = mapped_column(URI, index=True)
    public_key_pem: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(URI)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Follower(Base):
    """A remote actor following one of ours; pending until accepted."""

    __tablename__ = "followers"
    __table_args__ = (UniqueConstraint("local_actor_id", "actor_uri"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    local_actor_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    actor_uri: Mapped[str] = mapped_column(URI)
    inbox: Mapped[str] = mapped_column(URI)
    shared_inbox: Mapped[str | None] = mapped_column(URI)
    follow_activity_uri: Mapped[str] = mapped_column(URI)
    state: Mapped[str] = mapped_column(String(16))  # pending | accepted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Following(Base):
    """One of our actors following a remote one; pending until the remote side accepts."""

    __tablename__ = "following"
    __table_args__ = (UniqueConstraint("local_actor_id", "target_uri"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    local_actor_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    target_uri: Mapped[str] = mapped_column(URI)
    follow_activity_uri: Mapped[str] = mapped_column(URI, unique=True)
    state: Mapped[str] = mapped_column(String(16))  # pending | accepted | rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxActivity(Base):
    """An activity one of our actors published; the body is what every delivery sends."""

    __tablename__ = "outbox_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    local_actor_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    activity_type: Mapped[str] = mapped_column(String(32))
    object_uri: Mapped[str | None] = mapped_column(URI, index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Only public activities appear in the outbox collection; Accepts and Follows do not.
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Stage one of the fan-out: the audience as stored at publish time, expanded into
    # delivery rows by a worker, so publishing costs one row however many followers there are.
    fanout_pending: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    audience_inboxes: Mapped[list[str]] = mapped_column(JSON, default=list)
    audience_followers_of: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Followers of these actors are left out: they already get the original activity.
    audience_except_followers_of: Mapped[list[int]] = mapped_column(JSON, default=list)


class DeliveryState(StrEnum):
    PENDING = "pending"  # due at next_attempt_at, or being sent under a lease
    DELIVERED = "delivered"
    DEAD = "dead"  # given up: refused for good, out of retries, or its host given up on


class Delivery(Base):
    """One activity to one inbox: a small state machine, pending -> delivered | dead.

    A worker leases a due row (lease_until) before sending; a crash leaves the lease to expire,
    so the row is sent again after a restart instead of being lost.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "state", "priority", "next_attempt_at"),
        UniqueConstraint("activity_id", "inbox"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_activities.id", ondelete="CASCADE"), index=True
    )
    inbox: Mapped[str] = mapped_column(URI)
    host: Mapped[str] = mapped_column(String(255), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[DeliveryState] = mapped_column(
        EnumText(DeliveryState), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryHost(Base):
    """Health of one remote host, so a dead server does not eat every worker's time."""

    __tablename__ = "delivery_hosts"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unavailable_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Days (UTC) on which a delivery failed since the last success, and the last failure:
    # Mastodon's measure of a server gone for good (7 failing days).
    failure_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when we stopped delivering to the host at all: nothing is queued for it until it
    # sends us something signed or an admin resumes it.
    unavailable_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboxState(StrEnum):
    PENDING = "pending"  # due at next_attempt_at, or being handled under a lease
    DONE = "done"
    FAILED = "failed"  # its handlers failed every try


class ReceivedActivity(Base):
    """Every accepted inbox activity, keyed by id: the inbox queue and the dedupe record.

    Written (in batches) before the sender gets its 202, processed afterwards: pending ->
    done, or failed after a few tries; a crash between the two loses nothing.
    """

    __tablename__ = "received_activities"
    __table_args__ = (Index("ix_received_pending", "state", "next_attempt_at", "received_at"),)

    uri: Mapped[str] = mapped_column(URI, primary_key=True)
    actor_uri: Mapped[str] = mapped_column(URI, index=True)
    activity_type: Mapped[str] = mapped_column(String(32))
    recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("local_actors.id", ondelete="SET NULL")
    )
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[InboxState] = mapped_column(EnumText(InboxState), default=InboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Names of the handlers whose writes committed (federation.handlers): a retry after a
    # later handler failed skips them instead of applying their effect twice.
    handlers_done: Mapped[list[str] | None] = mapped_column(JSON)


class Block(Base):
    """A server (with its subdomains) or one actor this node neither hears nor speaks to.

    `target` is a host as `host_of` gives it (`example.org`, `127.0.0.1:8001`) for a server,
    an actor id for an actor. What was stored from it before stays, hidden, for an unblock.
    """

    __tablename__ = "blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # server | actor
    target: Mapped[str] = mapped_column(URI, unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlockListVersion(Base):
    """One row: bumped with every change of `blocks`, so each process knows when to reload."""

    __tablename__ = "block_list_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class WorkerHeartbeat(Base):
    """A process running background work, and when it last said it was alive.

    An idle node has no queue to show that its workers stopped; these rows do. A process
    that stops cleanly says so; a killed one's row simply grows old.
    """

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Queues and bookkeeping of the node's machinery: no page, feed or document shows them, and
# their constant writes must not make every process's cached pages be made again.
content_version.not_shown(
    "deliveries", "delivery_hosts", "received_activities", "worker_heartbeats"
)
