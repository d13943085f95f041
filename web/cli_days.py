"""`iwsn day ...`: declare, edit, delete and list Monthly Workers Solidarity Days."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import date
from typing import TYPE_CHECKING, Any

from web.lazy import lazy

solidarity_days = lazy("actors.solidarity_days")

if TYPE_CHECKING:
    from actors.models import SolidarityDay
    from web.runtime import Node


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2027-03-08") from exc


def _options(parser: argparse.ArgumentParser, *, creating: bool) -> None:
    parser.add_argument("--date", type=_date, dest="day", required=creating, help="2027-03-08")
    parser.add_argument("--theme", required=creating)
    parser.add_argument("--slogan", required=creating)
    parser.add_argument("--hashtag", required=creating, help="one, e.g. WorkersDay")
    parser.add_argument("--description", help="Markdown")
    if creating:
        parser.add_argument("--org", help="organization handle (default: the node's first)")


def _fields() -> list[str]:
    return [f.name for f in dataclasses.fields(solidarity_days.DayInput)]


def _given(args: argparse.Namespace) -> dict[str, Any]:
    return {
        name: getattr(args, name) for name in _fields() if getattr(args, name, None) is not None
    }


async def create(node: Node, args: argparse.Namespace) -> None:
    day = await solidarity_days.declare(
        node.federation,
        solidarity_days.DayInput(**_given(args)),
        org=args.org,
    )
    print(day.uri)


async def _own(node: Node, uri: str) -> SolidarityDay:
    async with node.db.read() as session:
        day, _organization, _actor = await solidarity_days.own_day(session, uri=uri)
    return day


async def edit(node: Node, args: argparse.Namespace) -> None:
    day = await _own(node, args.url)
    data = dataclasses.replace(solidarity_days.input_from(day), **_given(args))
    await solidarity_days.edit(node.federation, day.uri, data)
    print(day.uri)


async def delete(node: Node, args: argparse.Namespace) -> None:
    day = await _own(node, args.url)
    await solidarity_days.delete(node.federation, day.uri)
    print(day.uri)


async def list_days(node: Node, args: argparse.Namespace) -> None:
    async with node.db.read() as session:
        days = await solidarity_days.every(session)
    for day in days:
        origin = "local" if day.is_local else day.origin_host
        print(
            f"{day.day.isoformat()}\t{day.theme}\t{day.slogan}\t#{day.hashtag}\t{origin}\t{day.uri}"
        )


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], with_node) -> None:
    group = sub.add_parser("day", help="Monthly Workers Solidarity Days").add_subparsers(
        dest="day_command", required=True
    )
    new = group.add_parser("create", help="declare a solidarity day; prints its URL")
    _options(new, creating=True)
    new.set_defaults(func=with_node(create))
    change = group.add_parser("edit", help="change a day's details")
    change.add_argument("url")
    _options(change, creating=False)
    change.set_defaults(func=with_node(edit))
    withdraw = group.add_parser("delete", help="withdraw a day entirely")
    withdraw.add_argument("url")
    withdraw.set_defaults(func=with_node(delete))
    group.add_parser("list", help="known days, ours and followed").set_defaults(
        func=with_node(list_days)
    )
