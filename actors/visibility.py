"""What the pages, feeds and collections may show: nothing from a blocked server or actor.

Content kept from a server before it was blocked stays in the database, so that lifting the
block brings it back; these filters keep it out of sight meanwhile. The block list is the
node's in-memory one (`federation.blocks`), which every session carries in `info["blocks"]`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, not_, or_, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from federation.blocks import BlockList

T = TypeVar("T")


def _blocks(session: AsyncSession | Session) -> BlockList | None:
    blocks = session.info.get("blocks")
    return blocks if isinstance(blocks, BlockList) else None


def visibility_key(session: AsyncSession | Session) -> tuple[int, int | None] | None:
    """What `visible` depends on: equal keys, equal clauses (for statements built once)."""
    blocks = _blocks(session)
    return None if blocks is None else (id(blocks), blocks.version)


def _host_blocked(column: Any, server: str) -> ColumnElement[bool]:
    """SQL for `BlockList.server_blocked`: the host itself, any port of it, its subdomains."""
    has_port = server.rsplit("]", 1)[-1].count(":") == 1
    if has_port:
        return column == server  # a block with a port names that one authority
    any_port = or_(column == server, column.like(f"{server}:%"))
    try:
        ipaddress.ip_address(server.strip("[]"))
        return any_port  # an address has no subdomains
    except ValueError:
        return or_(any_port, column.like(f"%.{server}"), column.like(f"%.{server}:%"))


def visible(session: AsyncSession | Session, model: Any) -> ColumnElement[bool]:
    """A WHERE clause for events, days and alerts: ours, or from no blocked origin."""
    blocks = _blocks(session)
    if blocks is None or not (blocks.servers or blocks.actors):
        return true()
    hidden = [_host_blocked(model.origin_host, server) for server in sorted(blocks.servers)]
    if blocks.actors:
        hidden.append(model.origin_actor_uri.in_(sorted(blocks.actors)))
    return or_(model.is_local.is_(True), not_(or_(*hidden) if hidden else false()))


def shown(session: AsyncSession, item: Any) -> bool:
    """One event, day or alert: may a page show it?"""
    blocks = _blocks(session)
    if blocks is None or item.is_local:
        return True
    return not (blocks.server_blocked(item.origin_host) or item.origin_actor_uri in blocks.actors)


def by_visible_authors(session: AsyncSession, items: Iterable[T]) -> list[T]:
    """Replies (or anything with an `actor_uri`) whose author is not blocked."""
    blocks = _blocks(session)
    if blocks is None:
        return list(items)
    return [item for item in items if not blocks.actor_blocked(item.actor_uri)]  # type: ignore[attr-defined]
