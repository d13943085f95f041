"""`iwsn report ...`: publish, edit, delete and list reports from the struggle."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from web.lazy import lazy

reports = lazy("actors.reports")

if TYPE_CHECKING:
    from actors.models import Report
    from web.runtime import Node

# Far above what a report may hold (the domain says so in words); only a mistaken file (a
# video, a disk image) is refused before it is read.
MAX_FILE_BYTES = 10_000_000


def _body_file(text: str) -> str:
    path = Path(text)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise argparse.ArgumentTypeError(f"{text} is larger than 10 MB: not a report")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{text} is not UTF-8 text") from exc
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {text}: {exc.strerror}") from exc


def _options(parser: argparse.ArgumentParser, *, creating: bool) -> None:
    parser.add_argument("--title", required=creating)
    parser.add_argument(
        "--file", type=_body_file, dest="body", required=creating, help="the text, Markdown"
    )
    parser.add_argument("--summary", help="one or two sentences (Mastodon shows them)")
    parser.add_argument("--lang", dest="language", help="language code, e.g. es or pt-BR")
    parser.add_argument("--tag", dest="tags", action="append", help="a hashtag; repeat for more")
    parser.add_argument(
        "--about",
        dest="related",
        action="append",
        help="address of an action, assembly, alert or day it is about; repeat for more",
    )
    if creating:
        parser.add_argument("--org", help="organization handle (default: the node's first)")


def _given(args: argparse.Namespace) -> dict[str, Any]:
    names = [f.name for f in dataclasses.fields(reports.ReportInput)]
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


async def publish(node: Node, args: argparse.Namespace) -> None:
    report = await reports.publish(
        node.federation, reports.ReportInput(**_given(args)), org=args.org
    )
    print(report.uri)


async def _own(node: Node, uri: str) -> Report:
    async with node.db.read() as session:
        report, _organization, _actor = await reports.own_report(session, uri=uri)
    return report


async def edit(node: Node, args: argparse.Namespace) -> None:
    report = await _own(node, args.url)
    data = dataclasses.replace(reports.input_from(report), **_given(args))
    await reports.edit(node.federation, report.uri, data)
    print(report.uri)


async def translate(node: Node, args: argparse.Namespace) -> None:
    report = await _own(node, args.url)
    data = reports.TranslationInput(
        language=args.language, title=args.title, body=args.body, summary=args.summary or ""
    )
    await reports.translate(node.federation, report.uri, data)
    print(report.uri)


async def delete(node: Node, args: argparse.Namespace) -> None:
    report = await _own(node, args.url)
    await reports.delete(node.federation, report.uri)
    print(report.uri)


async def list_reports(node: Node, args: argparse.Namespace) -> None:
    async with node.db.read() as session:
        found = await reports.every(session)
    for report in found:
        origin = "local" if report.is_local else report.origin_host
        when = report.published_at.date().isoformat()
        print(f"{when}\t{report.title}\t{report.language or '-'}\t{origin}\t{report.uri}")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], with_node) -> None:
    group = sub.add_parser("report", help="reports from the struggle").add_subparsers(
        dest="report_command", required=True
    )
    new = group.add_parser("publish", help="publish a report; prints its URL")
    _options(new, creating=True)
    new.set_defaults(func=with_node(publish))
    change = group.add_parser("edit", help="change a report (options given replace the old)")
    change.add_argument("url")
    _options(change, creating=False)
    change.set_defaults(func=with_node(edit))
    other = group.add_parser(
        "translate", help="add or replace the report in another language (--lang)"
    )
    other.add_argument("url")
    other.add_argument("--lang", dest="language", required=True, help="e.g. es or pt-BR")
    other.add_argument("--title", required=True)
    other.add_argument("--file", type=_body_file, dest="body", required=True)
    other.add_argument("--summary")
    other.set_defaults(func=with_node(translate))
    withdraw = group.add_parser("delete", help="withdraw a report entirely")
    withdraw.add_argument("url")
    withdraw.set_defaults(func=with_node(delete))
    group.add_parser("list", help="known reports, ours and received").set_defaults(
        func=with_node(list_reports)
    )
