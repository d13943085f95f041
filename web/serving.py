"""Serving HTTP from one process or several on one port.

A Python process computes on one core at a time. A node on a machine with more cores answers
more (the flood of deliveries an upsurge brings lands on the inbox) by running web processes
side by side on the same port, as Mastodon runs several Puma workers. The first process,
`iwsn serve` itself, also runs the node's background work; the others only answer HTTP, and
what they store reaches that work through federation.wakeups. It restarts a helper that
dies, and takes them all down with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

import uvicorn

from web import connections

if TYPE_CHECKING:
    from web.settings import Settings

log = logging.getLogger(__name__)

LOG_FORMAT = "%(levelname)s %(name)s %(message)s"
# A helper that dies sooner than this after its start is restarted only after this long, so
# a helper that cannot start (a broken setting, a full disk) does not spin the machine.
RESTART_BACKOFF_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 15.0
# Open connections (and requests in progress) per web process; past it uvicorn answers 503.
# With the deadlines of web.connections a slow client holds one for seconds, not minutes.
MAX_CONNECTIONS = 1000


@dataclass(frozen=True)
class ServerOptions:
    host: str
    port: int
    log_level: str
    access_log: bool
    trusted_proxies: tuple[str, ...] = ()
    header_timeout: float = connections.HEADER_TIMEOUT
    body_timeout: float = connections.BODY_TIMEOUT


class PortInUse(OSError):
    """Another server already answers on the address."""


def listen(host: str, port: int, processes: int = 1) -> list[socket.socket]:
    """One listening socket per web process, bound before anything starts.

    Several processes sharing one socket do not share its connections: the first to wake
    accepts every waiting one, and keep-alive connections from a busy server then stay on
    that process while the others idle. With SO_REUSEPORT each process has its own queue
    and the kernel spreads new connections over them.
    """
    if processes > 1 and _answers(host, port):
        # SO_REUSEPORT would let this bind join another iwsn already on the port.
        raise PortInUse(errno.EADDRINUSE, "another server already answers there")
    sockets: list[socket.socket] = []
    try:
        for _ in range(processes):
            sockets.append(_bound(host, port, reuse_port=processes > 1))
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _bound(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _answers(host: str, port: int) -> bool:
    target = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    try:
        with socket.create_connection((target, port), timeout=1):
            return True
    except OSError:
        return False


def uvicorn_config(app: Any, options: ServerOptions) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_level=options.log_level,
        # Access logs halve throughput and would keep visitors' addresses; off by default.
        access_log=options.access_log,
        # The client's address decides the login throttle: take it from X-Forwarded-For only
        # when the connection comes from a proxy the admin named (uvicorn alone would trust
        # anything from 127.0.0.1, i.e. any local process or a proxy passing headers through).
        proxy_headers=bool(options.trusted_proxies),
        forwarded_allow_ips=list(options.trusted_proxies) or None,
        server_header=False,
        http=connections.protocol_class(options.header_timeout, options.body_timeout),
        limit_concurrency=MAX_CONNECTIONS,
    )


@contextlib.asynccontextmanager
async def helpers(
    sockets: list[socket.socket], options: ServerOptions, settings: Settings
) -> AsyncIterator[None]:
    """A web-only process on each of `sockets` while the body runs; stopped when it ends."""
    if not sockets:
        yield
        return
    supervisor = _Supervisor(sockets, options, settings)
    supervisor.start()
    try:
        yield
    finally:
        await supervisor.stop()


class _Supervisor:
    def __init__(
        self, sockets: list[socket.socket], options: ServerOptions, settings: Settings
    ) -> None:
        self.sockets = sockets
        self.options = options
        self.settings = settings
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[BaseProcess] = []
        self.started_at: dict[int, float] = {}
        # A replacement takes over its predecessor's socket, and the connections queued on it.
        self.socket_of: dict[int, socket.socket] = {}
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.processes = [self._spawn(sock) for sock in self.sockets]
        self.task = asyncio.create_task(self._watch(), name="web-helpers")
        log.info("%d more web processes: %s", len(self.sockets), [p.pid for p in self.processes])

    def _spawn(self, sock: socket.socket) -> BaseProcess:
        process = self.context.Process(
            target=helper_main,
            args=(sock, self.options, self.settings),
            name="iwsn-web",
            daemon=True,
        )
        process.start()
        self.started_at[process.pid or 0] = time.monotonic()
        self.socket_of[process.pid or 0] = sock
        return process

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            ended = loop.create_future()
            for process in self.processes:
                loop.add_reader(process.sentinel, _settle, ended, process)
            try:
                process = await ended
            finally:
                for each in self.processes:
                    loop.remove_reader(each.sentinel)
            process.join()
            age = time.monotonic() - self.started_at.pop(process.pid or 0, 0.0)
            sock = self.socket_of.pop(process.pid or 0)
            # uvicorn exits 0 when told to stop (Ctrl-C reaches every process of the group);
            # anything else is a crash (or the OOM killer) and the node would serve less.
            if process.exitcode == 0:
                self.processes.remove(process)
                if not self.processes:
                    return
                continue
            log.warning(
                "web process %s died (exit %s); starting another", process.pid, process.exitcode
            )
            if age < RESTART_BACKOFF_SECONDS:
                await asyncio.sleep(RESTART_BACKOFF_SECONDS)
            self.processes[self.processes.index(process)] = self._spawn(sock)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in self.processes:
            await asyncio.to_thread(process.join, max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("web process %s did not stop; killing it", process.pid)
                process.kill()
                await asyncio.to_thread(process.join)


def run_event_loop(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """asyncio.run on uvloop where it is installed (uvicorn[standard]): ~20% more requests/s."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


def _settle(ended: asyncio.Future[BaseProcess], process: BaseProcess) -> None:
    if not ended.done():
        ended.set_result(process)


def helper_main(sock: socket.socket, options: ServerOptions, settings: Settings) -> None:
    """A web-only process: the node's app on the shared socket, no background work.

    It gets the first process's settings as they are (its session secret among them) and
    the database as that process left it: migrated, with its actors.
    """
    from web.app import create_app
    from web.runtime import Node

    logging.basicConfig(level=options.log_level.upper(), format=LOG_FORMAT)

    async def main() -> None:
        node = Node(settings)
        server = uvicorn.Server(uvicorn_config(create_app(node, workers=0), options))
        _exit_when_orphaned(server)
        await server.serve(sockets=[sock])

    run_event_loop(main)


def _exit_when_orphaned(server: uvicorn.Server) -> None:
    # The first process may end without stopping its helpers: killed outright, or by the
    # signal uvicorn raises again once it has shut down. They hear it here and stop too.
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    loop = asyncio.get_running_loop()

    def orphaned() -> None:
        loop.remove_reader(parent.sentinel)
        log.warning("the node's main process is gone; this web process stops")
        server.should_exit = True

    loop.add_reader(parent.sentinel, orphaned)
