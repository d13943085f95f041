"""`iwsn alert ...`: raise, update, resolve and list solidarity alerts; relaying controls."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from actors import vocabulary
from web.lazy import lazy

alert_relaying = lazy("actors.alert_relaying")
alerts = lazy("actors.alerts")
blocks = lazy("federation.blocks")
domain_errors = lazy("actors.errors")
messages = lazy("web.messages")

if TYPE_CHECKING:
    from actors.alert_relaying import Relaying
    from web.runtime import Node


def errors() -> tuple[type[Exception], ...]:
    """Errors a user can fix: printed without a traceback."""
    return (domain_errors.ValidationError, domain_errors.NotFound, blocks.BlockError)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time like 2026-12-01T00:00Z") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _options(parser: argparse.ArgumentParser, *, raising: bool) -> None:
    parser.add_argument("--title", required=raising)
    parser.add_argument("--text", required=raising, help="what happened")
    parser.add_argument("--country", required=raising, help="two-letter code, e.g. BD")
    parser.add_argument("--region", help="region or city")
    parser.add_argument("--lat", type=float, dest="latitude")
    parser.add_argument("--lon", type=float, dest="longitude")
    parser.add_argument("--asked", dest="ask_text", help="what is asked, in words")
    parser.add_argument(
        "--ask", action="append", dest="asks", choices=vocabulary.ALERT_ASK_KINDS, help="repeatable"
    )
    parser.add_argument("--urgency", choices=vocabulary.ALERT_URGENCIES)
    parser.add_argument("--link", action="append", dest="links", help="repeatable")
    parser.add_argument("--tag", action="append", dest="tags", help="repeatable")
    parser.add_argument("--language", help="e.g. en")
    parser.add_argument("--expires", type=_moment, dest="expires_at", help="2026-12-01T00:00Z")
    if raising:
        parser.add_argument("--org", help="organization handle (default: the node's first)")


def _fields() -> list[str]:
    return [f.name for f in dataclasses.fields(alerts.AlertInput)]


def _given(args: argparse.Namespace) -> dict[str, Any]:
    return {
        name: getattr(args, name) for name in _fields() if getattr(args, name, None) is not None
    }


async def raise_(node: Node, args: argparse.Namespace) -> None:
    alert = await alerts.raise_alert(
        node.federation, alerts.AlertInput(**_given(args)), org=args.org
    )
    print(alert.uri)


async def _own(node: Node, uri: str) -> Any:
    async with node.db.read() as session:
        alert, _organization, _actor = await alerts.own_alert(session, uri=uri)
    return alert


async def update(node: Node, args: argparse.Namespace) -> None:
    alert = await _own(node, args.url)
    data = dataclasses.replace(alerts.input_from(alert), **_given(args))
    await alerts.update(node.federation, alert.uri, data)
    print(alert.uri)


async def resolve(node: Node, args: argparse.Namespace) -> None:
    alert = await _own(node, args.url)
    await alerts.resolve_alert(node.federation, alert.uri)
    print(alert.uri)


async def withdraw(node: Node, args: argparse.Namespace) -> None:
    alert = await _own(node, args.url)
    await alerts.withdraw(node.federation, alert.uri)
    print(alert.uri)


async def list_alerts(node: Node, args: argparse.Namespace) -> None:
    async with node.db.read() as session:
        found = await alerts.every(session)
    for alert in found:
        state = "withdrawn" if alert.deleted_at else alert.status
        origin = "local" if alert.is_local else f"{alert.origin_host} via {alert.received_via}"
        print(
            f"{alert.published_at:%Y-%m-%d %H:%M}\t{state}\t{alert.urgency}\t{alert.country}"
            f"\t{alert.title}\t{origin}\thops={alert.hops}\t{alert.uri}"
        )


def _show(settings: Relaying) -> None:
    print(f"relaying: {'on' if settings.relay else 'off'}")
    print(f"blocked: {' '.join(settings.blocked_hosts) or '(none)'}")


async def relaying(node: Node, args: argparse.Namespace) -> None:
    if args.state is None:
        async with node.db.read() as session:
            _show(await alert_relaying.relaying(session))
        return
    _show(await alert_relaying.configure_relaying(node.db, relay=args.state == "on"))


async def block(node: Node, args: argparse.Namespace) -> None:
    """An alias of `iwsn block HOST`: a server block, for everything, not alerts alone."""
    _show(await alert_relaying.block(node.federation, args.host))


async def unblock(node: Node, args: argparse.Namespace) -> None:
    _show(await alert_relaying.unblock(node.federation, args.host))


def _guarded(action: Callable[[Node, argparse.Namespace], Awaitable[Any]]) -> Callable:
    async def run(node: Node, args: argparse.Namespace) -> None:
        try:
            await action(node, args)
        except errors() as exc:
            print(f"iwsn: {messages.for_terminal(exc)}", file=sys.stderr)
            sys.exit(1)

    return run


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], with_node) -> None:
    group = sub.add_parser("alert", help="solidarity alerts").add_subparsers(
        dest="alert_command", required=True
    )
    new = group.add_parser("raise", help="raise an alert; prints its URL")
    _options(new, raising=True)
    new.set_defaults(func=with_node(_guarded(raise_)))
    change = group.add_parser("update", help="change an alert's details")
    change.add_argument("url")
    _options(change, raising=False)
    change.set_defaults(func=with_node(_guarded(update)))
    done = group.add_parser("resolve", help="mark an alert resolved")
    done.add_argument("url")
    done.set_defaults(func=with_node(_guarded(resolve)))
    gone = group.add_parser("withdraw", help="withdraw an alert raised in error")
    gone.add_argument("url")
    gone.set_defaults(func=with_node(_guarded(withdraw)))
    group.add_parser("list", help="alerts held here, ours and received").set_defaults(
        func=with_node(_guarded(list_alerts))
    )
    relay = group.add_parser(
        "relaying", help="whether this node passes on the alerts it receives (default: on)"
    )
    relay.add_argument("state", nargs="?", choices=("on", "off"), help="omit to show")
    relay.set_defaults(func=with_node(_guarded(relaying)))
    stop = group.add_parser("block", help="the same as `iwsn block HOST`: a server block")
    stop.add_argument("host", help="a server name, e.g. example.org")
    stop.set_defaults(func=with_node(_guarded(block)))
    allow = group.add_parser("unblock", help="the same as `iwsn unblock HOST`")
    allow.add_argument("host")
    allow.set_defaults(func=with_node(_guarded(unblock)))
