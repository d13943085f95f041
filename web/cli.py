"""The `iwsn` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from web import (
    cli_alerts,
    cli_blocks,
    cli_days,
    cli_events,
    cli_near,
    cli_reports,
    cli_signatures,
)
from web.lazy import lazy
from web.settings import Settings, SettingsError, load, prepare_data_dir

# Loaded when a command first needs them: `iwsn --help` and argument errors answer at once.
admins = lazy("actors.admins")
domain_errors = lazy("actors.errors")
organizations = lazy("actors.organizations")
follows = lazy("federation.follows")
client = lazy("federation.client")
delivery = lazy("federation.delivery")
models = lazy("federation.models")
federation_node = lazy("federation.node")
remote_actors = lazy("federation.remote_actors")
messages = lazy("web.messages")
migrate = lazy("web.migrate")
runtime = lazy("web.runtime")
serving = lazy("web.serving")

if TYPE_CHECKING:
    from federation.client import FetchError
    from federation.models import LocalActor
    from web.runtime import Node

log = logging.getLogger("iwsn")


class CommandError(Exception):
    """A problem the user can fix; printed without a traceback, exit status 1."""


def _settings() -> Settings:
    return prepare_data_dir(load())


async def _ready_node(settings: Settings) -> Node:
    await migrate.upgrade(settings.database_url)
    node = runtime.Node(settings)
    result = await node.bootstrap()
    if result.created_organization:
        print(
            f"Created the organization @{result.created_organization}@{settings.domain}",
            file=sys.stderr,
        )
    if result.setup_token:
        print(
            "No admin yet. Set the admin password at this one-time link (valid 2 days):\n"
            f"  {settings.base_url}/admin/setup/{result.setup_token}",
            file=sys.stderr,
        )
    return node


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from web import serving
    from web.app import create_app

    settings = _settings()
    if args.processes < 1:
        raise CommandError("--processes must be 1 or more")
    logging.basicConfig(level=settings.log_level.upper(), format=serving.LOG_FORMAT)
    try:
        sockets = serving.listen(args.host, args.port, args.processes)
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    options = serving.ServerOptions(
        args.host, args.port, settings.log_level, args.access_log, settings.trusted_proxies
    )

    async def main() -> None:
        node = await _ready_node(settings)
        app = create_app(node, workers=0 if args.no_workers else args.workers)
        listening = f"http://{args.host}:{args.port}/"
        public = f"{settings.base_url}/"
        where = public if public == listening else f"{public} (listening on {listening})"
        print(f"Serving {where}", file=sys.stderr)
        async with serving.helpers(sockets[1:], options, settings):
            server = uvicorn.Server(serving.uvicorn_config(app, options))
            await server.serve(sockets=sockets[:1])

    serving.run_event_loop(main)


def cmd_worker(args: argparse.Namespace) -> None:
    settings = _settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )

    async def main() -> None:
        node = await _ready_node(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Finish the batch in hand on SIGTERM (docker stop) instead of dropping it mid-send.
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await node.watch_blocks()
        node.start_workers(args.workers)
        print(f"Delivery workers running for {settings.base_url}", file=sys.stderr)
        try:
            await stop.wait()
        finally:
            await node.aclose()

    try:
        serving.run_event_loop(main)
    except KeyboardInterrupt:
        pass


def _with_node(action: Callable[[Node, argparse.Namespace], Awaitable[Any]]) -> Callable:
    def run(args: argparse.Namespace) -> None:
        settings = _settings()

        async def main() -> None:
            await migrate.upgrade(settings.database_url)
            node = runtime.Node(settings)
            try:
                await node.federation.ensure_instance_actor()
                await node.federation.blocks.refresh()  # no command reaches a blocked server
                await action(node, args)
            finally:
                await node.aclose()

        asyncio.run(main())

    return run


def cmd_setup(_args: argparse.Namespace) -> None:
    """Everything `serve` and `worker` do before they start, done once by itself: a deployment
    runs it first, so the processes that start together find the database ready instead of
    racing to create the first organization."""
    settings = _settings()

    async def main() -> None:
        from actors import places

        node = await _ready_node(settings)
        try:
            if settings.places_at_start and not await places.is_ready(node.db):
                # Here, once, rather than in the first visitor's search.
                print("Filling the list of places for \"near you\" (a few seconds)…")
                await places.ready(node.db)
        finally:
            await node.aclose()

    asyncio.run(main())
    print(f"The node {settings.base_url}/ is ready: database up to date, organization created.")


def cmd_backup(args: argparse.Namespace) -> None:
    from web import backup

    settings = _settings()
    try:
        if args.file == "-":
            tables = asyncio.run(backup.backup(settings, sys.stdout.buffer))
        else:
            target = os.path.abspath(args.file)
            partial = f"{target}.partial"
            # Written aside and renamed: a backup cut short never passes for a whole one.
            with open(partial, "wb") as out:
                tables = asyncio.run(backup.backup(settings, out))
            os.replace(partial, target)
    except backup.BackupError as exc:
        raise CommandError(str(exc)) from None
    where = "standard output" if args.file == "-" else args.file
    print(
        f"Backed up {sum(tables.values())} rows in {len(tables)} tables to {where}.",
        file=sys.stderr,
    )


def cmd_restore(args: argparse.Namespace) -> None:
    from web import backup

    settings = _settings()
    try:
        if args.file == "-":
            tables = asyncio.run(backup.restore(settings, sys.stdin.buffer))
        else:
            with open(args.file, "rb") as source:
                tables = asyncio.run(backup.restore(settings, source))
    except FileNotFoundError:
        raise CommandError(f"no such file: {args.file}") from None
    except backup.BackupError as exc:
        raise CommandError(f"cannot restore: {exc}") from None
    print(
        f"Restored {sum(tables.values())} rows in {len(tables)} tables for {settings.base_url}/.",
        file=sys.stderr,
    )


def cmd_doctor(_args: argparse.Namespace) -> None:
    from web import doctor

    findings = asyncio.run(doctor.examine(_settings()))
    for finding in findings:
        print(f"{finding.status:<4}  {finding.check}: {finding.words}")
    failed = [finding for finding in findings if finding.status == doctor.FAIL]
    if failed:
        print(f"{len(failed)} problem(s) found.", file=sys.stderr)
        sys.exit(1)
    print("All checks passed.", file=sys.stderr)


def cmd_db_upgrade(_args: argparse.Namespace) -> None:
    settings = _settings()
    asyncio.run(migrate.upgrade(settings.database_url))
    print("Database is up to date.")


async def admin_create(node: Node, args: argparse.Namespace) -> None:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        try:
            await admins.create_admin(node.db, args.username, password)
        except admins.AdminError as exc:
            raise CommandError(str(exc)) from exc
        print(f"Admin {args.username} created.")
        return
    token = await admins.issue_setup_token(node.db)
    print(f"{node.settings.base_url}/admin/setup/{token}")


async def org_create(node: Node, args: argparse.Namespace) -> None:
    org = await organizations.create_organization(
        node.federation, args.name, display_name=args.display_name, summary=args.summary
    )
    print(f"{node.settings.base_url}/actors/{org.name}")


async def org_edit(node: Node, args: argparse.Namespace) -> None:
    async with node.db.read() as session:
        found = await organizations.by_name(session, args.name)
    if found is None:
        raise CommandError(f"no organization named {args.name!r} on this node")
    organization, actor = found
    await organizations.update_profile(
        node.federation,
        args.name,
        display_name=organization.display_name if args.display_name is None else args.display_name,
        summary=organization.summary if args.summary is None else args.summary,
        manually_approves_followers=actor.manually_approves_followers,
    )
    print(actor.uri)


async def org_list(node: Node, _args: argparse.Namespace) -> None:
    async with node.db.read() as session:
        for org, actor in await organizations.all_organizations(session):
            print(f"@{org.name}@{node.settings.domain}\t{org.display_name}\t{actor.uri}")


async def _acting_actor(node: Node, org: str | None) -> LocalActor:
    async with node.db.read() as session:
        if org is None:
            actor = await node.federation.local_actor_by_username(
                session, federation_node.INSTANCE_USERNAME
            )
            assert actor is not None
            return actor
        return (await organizations.resolve(session, org))[1]


async def _target_uri(node: Node, target: str) -> str:
    try:
        return await follows.resolve_target(node.federation, target)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    except client.FetchError as exc:
        raise CommandError(_unreachable(target, exc)) from exc


def _unreachable(target: str, exc: FetchError) -> str:
    """What a person who typed `target` can do about a failed lookup, not only the URL."""
    if exc.status == 404:
        return (
            f"{target} was not found: its server answered that there is no such account. "
            "Check the name after the first @ (on an iwsn node, `iwsn org list` shows its "
            "organizations) and the domain after the second."
        )
    if exc.status is not None:
        return f"{target}: its server answered HTTP {exc.status} ({exc.url}). Try again later."
    return (
        f"{target}: could not reach its server ({exc}). Check the domain, and that the "
        "server is running and reachable from this one."
    )


async def follow(node: Node, args: argparse.Namespace) -> None:
    actor = await _acting_actor(node, args.org)
    uri = await _target_uri(node, args.target)
    try:
        row = await follows.follow(node.federation, actor, uri)
    except client.FetchError as exc:
        raise CommandError(_unreachable(args.target, exc)) from exc
    print(f"{row.target_uri}\t{row.state}")


async def unfollow(node: Node, args: argparse.Namespace) -> None:
    actor = await _acting_actor(node, args.org)
    uri = await _target_uri(node, args.target)
    try:
        await follows.unfollow(node.federation, actor, uri)
    except follows.FollowError as exc:
        raise CommandError(str(exc)) from exc
    print(f"{uri}\tunfollowed")


async def _graph(node: Node, model: Any, *, state: str | None = None) -> None:
    async with node.db.read() as session:
        rows = await follows.graph(session, model, state=state)
    for username, uri, row_state in rows:
        who = "node" if username == federation_node.INSTANCE_USERNAME else f"@{username}"
        print(f"{who}\t{uri}\t{row_state}")


async def list_followers(node: Node, args: argparse.Namespace) -> None:
    await _graph(node, models.Follower, state="pending" if args.pending else None)


async def set_manual_approval(node: Node, args: argparse.Namespace) -> None:
    actor = await _acting_actor(node, args.org)
    async with node.db.transaction() as session:
        row = await session.get(models.LocalActor, actor.id)
        assert row is not None
        row.manually_approves_followers = args.mode == "on"
    who = f"@{actor.username}" if args.org else "the node"
    state = "must be approved" if args.mode == "on" else "are accepted at once"
    print(f"New followers of {who} {state}.")


async def decide_follower(node: Node, args: argparse.Namespace) -> None:
    actor = await _acting_actor(node, args.org)
    uri = await _target_uri(node, args.account)
    decide = follows.approve_follower if args.decision == "approve" else follows.reject_follower
    try:
        await decide(node.federation, actor, uri)
    except follows.FollowError as exc:
        raise CommandError(str(exc)) from exc
    print(f"{uri}\t{'accepted' if args.decision == 'approve' else 'rejected'}")


async def list_following(node: Node, _args: argparse.Namespace) -> None:
    await _graph(node, models.Following)


async def deliveries(node: Node, args: argparse.Namespace) -> None:
    if args.action == "resume":
        if not args.host:
            raise CommandError("which server? iwsn deliveries resume HOST")
        if not await delivery.resume_host(node.db, args.host):
            raise CommandError(f"{args.host} is not marked unavailable")
        print(f"{args.host}\tdeliveries resumed")
        return
    if args.host:
        raise CommandError("a server is named only with: iwsn deliveries resume HOST")
    async with node.db.read() as session:
        status = await delivery.queue_status(session)
    totals = status["totals"]
    print("due {due}\tretrying {retrying}\tdead {dead}\tdelivered {delivered}".format(**totals))
    for host, counts in sorted(status["hosts"].items()):
        mark = ""
        if host in status["given_up"]:
            since = status["given_up"][host].strftime("%Y-%m-%d %H:%M UTC")
            mark = f"\tunavailable since {since}: nothing is sent to it until it is heard from"
        elif host in status["unavailable"]:
            until = status["unavailable"][host].strftime("%Y-%m-%d %H:%M UTC")
            mark = f"\tnot answering: next try {until}"
        print(
            f"{host}\tdue {counts['due']}\tretrying {counts['retrying']}\t"
            f"dead {counts['dead']}\tdelivered {counts['delivered']}{mark}"
        )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="iwsn",
        description="Run and manage an iwsn node. Settings come from IWSN_* environment variables.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the web server (and delivery workers)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="delivery workers in this process")
    serve.add_argument("--no-workers", action="store_true", help="leave delivery to `iwsn worker`")
    serve.add_argument("--access-log", action="store_true")
    serve.add_argument(
        "--processes",
        type=int,
        default=1,
        help="web processes sharing the port (the first also runs the workers); "
        "up to one per CPU core",
    )
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run delivery workers alone")
    worker.add_argument("--workers", type=int, default=1)
    worker.set_defaults(func=cmd_worker)

    sub.add_parser(
        "setup",
        help="apply migrations, create the node's first organization and print the admin link "
        "(what serve and worker do first, once)",
    ).set_defaults(func=cmd_setup)

    saving = sub.add_parser(
        "backup",
        help="write the whole node (database and data directory, keys included) to one file; "
        "safe while the node runs",
    )
    saving.add_argument("file", help="the backup file to write, or - for standard output")
    saving.set_defaults(func=cmd_backup)
    restoring = sub.add_parser(
        "restore", help="fill a new, empty database and data directory from a backup"
    )
    restoring.add_argument("file", help="the backup file, or - for standard input")
    restoring.set_defaults(func=cmd_restore)

    sub.add_parser(
        "doctor",
        help="check the running node as other servers see it: HTTPS and certificate, "
        "WebFinger, NodeInfo, database, workers, clock; exit status 1 on a problem",
    ).set_defaults(func=cmd_doctor)

    db = sub.add_parser("db", help="database tasks").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    admin = sub.add_parser("admin", help="admin accounts").add_subparsers(
        dest="admin", required=True
    )
    create = admin.add_parser("create", help="print a one-time link to set an admin password")
    create.add_argument("--username", default="admin")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin instead"
    )
    create.set_defaults(func=_with_node(admin_create))

    org = sub.add_parser("org", help="organizations").add_subparsers(dest="org", required=True)
    org_new = org.add_parser("create", help="add an organization to this node")
    org_new.add_argument("name", help="handle, as in @name@domain")
    org_new.add_argument("--display-name")
    org_new.add_argument("--summary", default="")
    org_new.set_defaults(func=_with_node(org_create))
    org_change = org.add_parser("edit", help="change an organization's name or description")
    org_change.add_argument("name", help="handle, as in @name@domain")
    org_change.add_argument("--display-name")
    org_change.add_argument("--summary")
    org_change.set_defaults(func=_with_node(org_edit))
    org.add_parser("list").set_defaults(func=_with_node(org_list))

    for name, action, text in (
        ("follow", follow, "follow an account or a whole node"),
        ("unfollow", unfollow, "stop following"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("target", help="@name@host, an actor URL, or a node's domain")
        command.add_argument("--org", help="follow as this organization (default: the node itself)")
        command.set_defaults(func=_with_node(action))
    followers_cmd = sub.add_parser("followers", help="who follows this node")
    followers_cmd.add_argument(
        "--pending", action="store_true", help="only requests awaiting approval"
    )
    followers_cmd.set_defaults(func=_with_node(list_followers))
    approval = sub.add_parser(
        "manual-approval", help="whether new followers must be approved first"
    )
    approval.add_argument("mode", choices=["on", "off"])
    approval.add_argument("--org", help="for this organization (default: the node itself)")
    approval.set_defaults(func=_with_node(set_manual_approval))
    for decision, text in (
        ("approve", "accept a pending follow request"),
        ("reject", "refuse a follow request, or remove a follower"),
    ):
        command = sub.add_parser(decision, help=text)
        command.add_argument("account", help="@name@host or actor URL of the follower")
        command.add_argument("--org", help="of this organization (default: the node itself)")
        command.set_defaults(func=_with_node(decide_follower), decision=decision)
    sub.add_parser("following", help="whom this node follows").set_defaults(
        func=_with_node(list_following)
    )
    queue = sub.add_parser(
        "deliveries",
        help="delivery queue status; `deliveries resume HOST` delivers to an unavailable "
        "server again",
    )
    queue.add_argument("action", nargs="?", choices=["resume"])
    queue.add_argument("host", nargs="?", help="with resume: the server, e.g. example.org")
    queue.set_defaults(func=_with_node(deliveries))
    cli_events.add_commands(sub, _with_node)
    cli_days.add_commands(sub, _with_node)
    cli_alerts.add_commands(sub, _with_node)
    cli_reports.add_commands(sub, _with_node)
    cli_blocks.add_commands(sub, _with_node)
    cli_near.add_commands(sub, _with_node)
    cli_signatures.add_commands(sub, _with_node)
    return top


def main(argv: list[str] | None = None) -> None:
    # Whatever the node writes (SQLite database, keys, secrets) is its user's alone.
    os.umask(0o077)
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except SettingsError as exc:
        print(f"iwsn: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (
        CommandError,
        client.FetchError,
        remote_actors.ActorError,
        domain_errors.ValidationError,
        domain_errors.NotFound,
        cli_events.EventCommandError,
    ) as exc:
        print(f"iwsn: {messages.for_terminal(exc)}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
