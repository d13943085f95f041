"""`iwsn signatures ...`: who signed on to the call here, their count, and a CSV export."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from web.lazy import lazy

signatures = lazy("actors.signatures")
signature_export = lazy("web.signature_export")

if TYPE_CHECKING:
    from web.runtime import Node


async def list_signatures(node: Node, args: argparse.Namespace) -> None:
    async with node.db.read() as session:
        found, _total = await signatures.search(
            session, args.search or "", state=args.state or "", limit=args.limit
        )
    for s in found:
        state = "confirmed" if s.confirmed_at else "waiting"
        organization = s.organization_name or ""
        join = "join" if s.wants_membership else ""
        shown = "public" if s.public else "hidden"
        print(
            f"{s.id}\t{state}\t{s.name}\t{s.email}\t{organization}\t{s.country or ''}\t{shown}"
            f"\t{join}".rstrip()
        )


async def count(node: Node, args: argparse.Namespace) -> None:
    async with node.db.read() as session:
        counts = await signatures.counts_by_state(session)
        network = await signatures.network_total(session)
    print(f"confirmed\t{counts['confirmed']}")
    print(f"waiting\t{counts['waiting']}")
    print(f"network\t{network.total}\t{network.nodes} nodes")
    for other in network.others:
        print(f"  {other.host}\t{other.total}\t{other.received_at.isoformat()}")


async def export(node: Node, args: argparse.Namespace) -> None:
    text = "".join([line async for line in signature_export.rows(node.db)])
    if args.output:
        # Addresses: readable by the node's user alone (the command runs with umask 077).
        await asyncio.to_thread(Path(args.output).write_text, text, encoding="utf-8")
    else:
        sys.stdout.write(text)


async def confirm(node: Node, args: argparse.Namespace) -> None:
    await signatures.confirm_by_admin(node.federation, args.id)


async def remove(node: Node, args: argparse.Namespace) -> None:
    await signatures.remove_by_admin(node.federation, args.id)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], with_node) -> None:
    group = sub.add_parser("signatures", help="signatures of the call on this node")
    commands = group.add_subparsers(dest="signatures_command", required=True)
    listing = commands.add_parser("list", help="signatures, newest first (with addresses)")
    listing.add_argument("--search", help="part of a name, address, organization or city")
    listing.add_argument("--state", choices=["waiting", "confirmed", "join"])
    listing.add_argument("--limit", type=int, default=1000)
    listing.set_defaults(func=with_node(list_signatures))
    commands.add_parser(
        "count", help="confirmed and waiting here; across the network"
    ).set_defaults(func=with_node(count))
    exporting = commands.add_parser("export", help="confirmed signatures as CSV")
    exporting.add_argument("--output", "-o", help="a file (default: standard output)")
    exporting.set_defaults(func=with_node(export))
    for name, action, text in (
        ("confirm", confirm, "confirm a signature by hand (its id, from list)"),
        ("remove", remove, "remove a signature and erase its data"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("id", type=int)
        command.set_defaults(func=with_node(action))
