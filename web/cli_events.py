"""`iwsn action ...` and `iwsn assembly ...`: publish, edit, cancel, delete, list."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from actors import vocabulary
from web.lazy import lazy

event_text = lazy("actors.event_text")
domain_errors = lazy("actors.errors")
events = lazy("actors.events")

if TYPE_CHECKING:
    from actors.events import EventInput
    from actors.models import Event
    from web.runtime import Node


class EventCommandError(Exception):
    pass


def _datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date and time like 2027-05-01T10:00"
        ) from exc
    if moment.tzinfo is not None:
        raise argparse.ArgumentTypeError(
            "give the local time without an offset; --timezone says where it is"
        )
    return moment


def add_event_options(parser: argparse.ArgumentParser, *, creating: bool, category: str) -> None:
    required = creating
    parser.add_argument("--title", required=required)
    parser.add_argument("--kind", choices=vocabulary.EVENT_KINDS, required=required)
    parser.add_argument(
        "--starts", type=_datetime, required=required, help="local, 2027-05-01T10:00"
    )
    parser.add_argument("--ends", type=_datetime, required=required, help="local, 2027-05-01T13:00")
    parser.add_argument("--timezone", required=required, help="IANA name, e.g. Europe/Lisbon")
    parser.add_argument("--place", dest="place_name")
    parser.add_argument("--address", dest="street_address")
    parser.add_argument("--postal-code")
    parser.add_argument("--city")
    parser.add_argument("--country", help="two-letter code, e.g. PT")
    parser.add_argument("--lat", type=float, dest="latitude")
    parser.add_argument("--lon", type=float, dest="longitude")
    parser.add_argument("--online-url")
    parser.add_argument("--tag", action="append", dest="tags", help="repeat for several")
    parser.add_argument("--description", help="Markdown")
    parser.add_argument("--contact", help="public contact (shown to everyone)")
    parser.add_argument("--language", help="e.g. pt, en")
    parser.add_argument("--solidarity-day", dest="solidarity_day_uri")
    if creating:
        parser.add_argument("--org", help="organization handle (default: the node's first)")
    if category == "assembly":
        parser.add_argument("--agenda")
        parser.add_argument("--section", action="append", dest="sections")
        parser.add_argument("--capacity", type=int)


def _input(args: argparse.Namespace, base: EventInput | None) -> EventInput:
    given = {
        name: getattr(args, name)
        for name in (f.name for f in dataclasses.fields(events.EventInput))
        if name != "description_format" and getattr(args, name, None) is not None
    }
    if base is None:
        given.setdefault("ends", None)
        return events.EventInput(**given)
    return dataclasses.replace(base, **given)


async def _own_event(node: Node, uri: str, category: str) -> Event:
    noun = "assembly" if category == "assembly" else "action"
    try:
        async with node.db.read() as session:
            event, _organization, _actor = await events.own_event(session, uri=uri)
    except domain_errors.NotFound as exc:
        raise EventCommandError(f"no {noun} of this node at {uri}") from exc
    if event.category != category:
        raise EventCommandError(f"no {noun} of this node at {uri}")
    return event


async def create(node: Node, args: argparse.Namespace) -> None:
    event = await events.publish(
        node.federation, _input(args, None), category=args.category, org=args.org
    )
    print(event.uri)


async def edit(node: Node, args: argparse.Namespace) -> None:
    event = await _own_event(node, args.url, args.category)
    await events.edit(node.federation, event.uri, _input(args, events.input_from(event)))
    print(event.uri)


async def cancel(node: Node, args: argparse.Namespace) -> None:
    event = await _own_event(node, args.url, args.category)
    await events.cancel(node.federation, event.uri)
    print(event.uri)


async def delete(node: Node, args: argparse.Namespace) -> None:
    event = await _own_event(node, args.url, args.category)
    await events.delete(node.federation, event.uri)
    print(event.uri)


async def list_events(node: Node, args: argparse.Namespace) -> None:
    async with node.db.read() as session:
        rows = await events.every(session, args.category)
    for event in rows:
        zone = ZoneInfo(event.timezone)
        start = event.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        origin = "local" if event.is_local else event.origin_host
        status = "CANCELLED\t" if event.status == "cancelled" else ""
        print(
            f"{start} {event.timezone}\t{status}{event.title}\t"
            f"{event_text.where(event)}\t{origin}\t{event.uri}"
        )


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], with_node) -> None:
    for category, noun, plural in (
        ("action", "action", "actions"),
        ("assembly", "assembly", "Workers Assemblies"),
    ):
        group = sub.add_parser(noun, help=f"{plural} of this node").add_subparsers(
            dest=f"{noun}_command", required=True
        )
        new = group.add_parser("create", help=f"publish a new {noun}; prints its URL")
        add_event_options(new, creating=True, category=category)
        new.set_defaults(func=with_node(create), category=category)
        change = group.add_parser("edit", help=f"change the {noun}'s details")
        change.add_argument("url")
        add_event_options(change, creating=False, category=category)
        change.set_defaults(func=with_node(edit), category=category)
        for name, action, text in (
            ("cancel", cancel, "mark it cancelled (followers are told)"),
            ("delete", delete, "withdraw it entirely"),
        ):
            command = group.add_parser(name, help=text)
            command.add_argument("url")
            command.set_defaults(func=with_node(action), category=category)
        group.add_parser("list", help=f"known {plural}, ours and followed").set_defaults(
            func=with_node(list_events), category=category
        )
