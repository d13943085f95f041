"""A fork server for the tests' `iwsn` commands: `python iwsn_forks.py SOCKET`.

Each command still runs as a process of its own, with its own environment, working directory,
umask, stdin, stdout, stderr and exit status, through the same `web.cli:main` the `iwsn`
console script calls, ending as an interpreter ends (atexit, flushing, a traceback and status
1 for an uncaught exception). What it no longer pays for is a new interpreter importing
SQLAlchemy, Alembic, Starlette and the node's code: that took most of the seconds each command
cost a loaded test machine, dozens of times per run. The server imports it all once and forks a
child per command. Tests about the process itself (its start, `--help` importing nothing heavy,
signals to `serve` and `worker`) keep starting the real binary.

Protocol, one connection per command: the client sends one JSON line (args, env, cwd, umask,
stdin/stdout/stderr file paths); the server answers the child's pid, then, when the child has
ended, its exit status, one line each.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import sys
from typing import Any

# What the commands load lazily (web.lazy), loaded before any fork instead of in every child.
PRELOAD = (
    "web.cli",
    "web.runtime",
    "web.migrate",
    "web.backup",
    "web.doctor",
    "web.messages",
    "web.serving",
    "web.app",
    "actors.admins",
    "actors.errors",
    "actors.organizations",
    "actors.places",
    "federation.follows",
    "federation.client",
    "federation.delivery",
    "federation.models",
    "federation.node",
    "federation.remote_actors",
    "alembic.command",
    "alembic.config",
    "aiosqlite",
    "asyncpg",
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "sqlalchemy.dialects.postgresql.asyncpg",
)


class _Child(Exception):
    """Raised in a freshly forked child: unwinds the server's loop before the command runs."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # a module that moved: the child then imports what it needs itself


def _serve(path: str) -> None:
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".tmp")
    listener.listen(64)
    os.rename(path + ".tmp", path)  # the client waits for this name: it appears ready
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    while True:
        for _key, _events in selector.select(timeout=0.02):
            conn, _ = listener.accept()
            conn.setblocking(True)
            line = conn.makefile("rb").readline()
            if not line:
                conn.close()
                continue
            request = json.loads(line)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                selector.close()
                listener.close()
                conn.close()
                raise _Child(request)
            conn.sendall(f"{pid}\n".encode())
            children[pid] = conn
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = children.pop(pid)
            try:
                conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
            except OSError:
                pass  # the client gave up (a timeout): nothing to tell
            conn.close()
        if os.getppid() != parent:
            return  # the test process is gone


def _run(request: dict[str, Any]) -> None:
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    for fd, name, flags in (
        (0, "stdin", os.O_RDONLY),
        (1, "stdout", os.O_WRONLY | os.O_TRUNC),
        (2, "stderr", os.O_WRONLY | os.O_TRUNC),
    ):
        opened = os.open(request[name], flags)
        os.dup2(opened, fd)
        os.close(opened)
    sys.argv = [request["argv0"], *request["args"]]
    from web.cli import main

    # As the console script does: whatever main raises ends the interpreter as it would there.
    sys.exit(main(request["args"]))  # type: ignore[func-returns-value]


if __name__ == "__main__":
    _preload()
    try:
        _serve(sys.argv[1])
        sys.exit(0)
    except _Child as child:
        request = child.request
    # Outside the except block: the command's own traceback, if any, is its alone.
    _run(request)
