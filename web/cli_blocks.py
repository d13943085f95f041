"""`iwsn block`, `iwsn unblock`, `iwsn blocks`: servers and accounts this node refuses."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from web.lazy import lazy

blocks = lazy("federation.blocks")

if TYPE_CHECKING:
    from web.runtime import Node


async def block(node: Node, args: argparse.Namespace) -> None:
    target = await blocks.resolve(node.federation, args.target)
    severed = await blocks.add(node.federation, target, args.reason or "")
    print(
        f"{target.kind}\t{target.value}\tblocked"
        f"\tfollowers removed: {severed['followers']}, deliveries dropped: {severed['deliveries']}"
    )


async def unblock(node: Node, args: argparse.Namespace) -> None:
    async with node.db.read() as session:
        held = {b.target: b for b in await blocks.every(session)}
    typed = args.target.strip()
    if typed in held:  # an actor URL or a server exactly as listed: no lookup needed
        target = blocks.Target(held[typed].kind, typed)
    else:
        target = await blocks.resolve(node.federation, typed)
    await blocks.remove(node.federation, target)
    print(f"{target.kind}\t{target.value}\tunblocked")


async def listing(node: Node, _args: argparse.Namespace) -> None:
    async with node.db.read() as session:
        found = await blocks.every(session)
    for row in found:
        print(f"{row.kind}\t{row.target}\t{row.created_at:%Y-%m-%d}\t{row.reason}")
    if not found:
        print("(no blocks)", file=sys.stderr)


def _guarded(action: Callable[[Node, argparse.Namespace], Awaitable[Any]]) -> Callable:
    async def run(node: Node, args: argparse.Namespace) -> None:
        try:
            await action(node, args)
        except blocks.BlockError as exc:
            print(f"iwsn: {exc}", file=sys.stderr)
            sys.exit(1)

    return run


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], with_node) -> None:
    stop = sub.add_parser(
        "block",
        help="refuse everything from a server (and its subdomains) or an account; send it nothing",
    )
    stop.add_argument("target", help="a server (example.org), @name@host, or an actor URL")
    stop.add_argument("--reason", help="why, for the admins (never published)")
    stop.set_defaults(func=with_node(_guarded(block)))
    allow = sub.add_parser("unblock", help="lift a block; what was kept from it shows again")
    allow.add_argument("target")
    allow.set_defaults(func=with_node(_guarded(unblock)))
    sub.add_parser("blocks", help="list the blocked servers and accounts").set_defaults(
        func=with_node(_guarded(listing))
    )
