"""Real nodes for tests: each one a uvicorn server on a free loopback port with its own database.

Set IWSN_TEST_DATABASE_URL to a postgresql+asyncpg URL to run every node on PostgreSQL; each
node then gets a fresh database there, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web import migrate
from web.app import create_app
from web.runtime import Node
from web.settings import load, prepare_data_dir

PG_URL = os.environ.get("IWSN_TEST_DATABASE_URL", "")


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class _TestServer(uvicorn.Server):
    """uvicorn's server, told to exit without waiting for its next tick (up to 0.1 s, paid by
    every node every test stops)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_now = asyncio.Event()

    def stop(self) -> None:
        self.should_exit = True
        self.exit_now.set()

    async def main_loop(self) -> None:
        # As uvicorn's, its tick (Date header, exit check) every 0.1 s, or at once when told.
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            try:
                await asyncio.wait_for(self.exit_now.wait(), 0.1)
            except TimeoutError:
                pass
            should_exit = await self.on_tick(counter)


async def _serve(app: Any, sock: socket.socket) -> tuple[_TestServer, asyncio.Task[None]]:
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = _TestServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task


# Enough for the nodes of any one test (two actors each) to hold keys of their own.
ACTOR_KEYS = 48
_KEY_END = "-----END PRIVATE KEY-----"


def use_pooled_actor_keys() -> None:
    """The actors of nodes started in this process take RSA keys from a pool made once per
    machine, in turn, instead of generating two 2048-bit keys per node: that was a third of
    starting one (0.1-0.2 s a key here). The keys are real and distinct within a test;
    `federation.keys.generate_private_key_pem` itself stays as it is for the tests of keys
    and of impostors' signatures."""
    import federation.node
    from federation.keys import generate_private_key_pem

    path = Path(tempfile.gettempdir()) / f"iwsn-test-actor-keys-{ACTOR_KEYS}.pem"
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker makes them, the others wait
        if not path.exists():
            made = "".join(generate_private_key_pem() for _ in range(ACTOR_KEYS))
            partial = path.with_suffix(".partial")
            partial.write_text(made)
            partial.replace(path)
    # Each as generate_private_key_pem gives it: BEGIN line first, a newline after END.
    parts = path.read_text().split(_KEY_END)
    keys = [f"{part.strip()}\n{_KEY_END}\n" for part in parts if part.strip()]
    assert len(keys) == ACTOR_KEYS and all(
        k.startswith("-----BEGIN PRIVATE KEY-----") for k in keys
    )
    turn = itertools.cycle(keys)
    federation.node.generate_private_key_pem = lambda: next(turn)  # type: ignore[attr-defined]


def _pg_parts(url: str) -> tuple[str, str]:
    """(admin DSN for asyncpg, URL prefix to which a database name is appended)."""
    base, _, _db = url.rpartition("/")
    return url.replace("postgresql+asyncpg://", "postgresql://"), base + "/"


async def create_database(template: str | None = None, *, big: bool = True) -> str | None:
    if not PG_URL:
        return None
    admin_dsn, prefix = _pg_parts(PG_URL)
    name = f"iwsn_test_{uuid.uuid4().hex[:12]}"
    # FILE_COPY: a big template's files copied as they are, not written again through the WAL;
    # it costs two checkpoints, more than a small template (a schema alone) takes to go
    # through the WAL (WAL_LOG).
    strategy = "FILE_COPY" if big else "WAL_LOG"
    copy = f' TEMPLATE "{template}" STRATEGY {strategy}' if template else ""
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await connection.close()
    return prefix + name


class DatabaseTemplate:
    """A migrated database, which each node then gets a copy of (a file copy on SQLite,
    CREATE DATABASE ... TEMPLATE on PostgreSQL) instead of running every migration from 0001
    again: that was most of what starting a test node cost. Built once per machine and version
    of the migrations (`_filled_by`), kept between runs; every run still migrates from nothing
    where `iwsn setup` is tested (test_cli_setup), and each node's start runs the upgrade (on a
    database already at head, as a restarted node does).

    `places=True`: the copy also holds the place table of "near you", instead of every such
    node spending seconds (and a loaded CI machine's patience) filling the table again."""

    def __init__(self, *, places: bool) -> None:
        self.places = places
        self.sqlite_file: Path | None = None
        self.pg_name: str | None = None
        self._lock = asyncio.Lock()

    async def _fill(self, url: str) -> None:
        await migrate.upgrade(url)
        if not self.places:
            return
        from actors import places
        from federation.db import Database

        db = Database(url)
        try:
            await places.ready(db)
        finally:
            await db.dispose()

    def _name(self) -> str:
        return f"iwsn_template_{'places' if self.places else 'schema'}_{_filled_by()}"

    async def sqlite(self) -> Path:
        """The template file, shared and kept as `postgresql` keeps its database."""
        async with self._lock:
            if self.sqlite_file is None:
                path = Path(tempfile.gettempdir()) / f"{self._name()}.sqlite3"
                with open(path.with_suffix(".lock"), "w") as held:
                    await asyncio.to_thread(fcntl.flock, held, fcntl.LOCK_EX)
                    if not path.exists():
                        await self._make_file(path)
                self.sqlite_file = path
            return self.sqlite_file

    async def _make_file(self, path: Path) -> None:
        prefix = path.name.rpartition("_")[0] + "_"
        for stale in path.parent.glob(f"{prefix}*.sqlite3"):
            stale.unlink(missing_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="iwsn-template-"))
        made = folder / "iwsn.sqlite3"
        await self._fill(f"sqlite+aiosqlite:///{made}")
        # Everything into the main file, so that copying that file copies it all.
        with sqlite3.connect(made) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.move(made, path)
        shutil.rmtree(folder, ignore_errors=True)

    async def postgresql(self) -> str:
        """The template database, shared by the test processes of this machine and kept from
        one run to the next while the code that fills it is the same: filling one costs seconds
        (the place table 10-30 s), paid once instead of by every process of every run."""
        async with self._lock:
            if self.pg_name is None:
                name = self._name()
                lock = Path(tempfile.gettempdir()) / f"{name}.lock"
                with open(lock, "w") as held:
                    await asyncio.to_thread(fcntl.flock, held, fcntl.LOCK_EX)
                    if not await _database_exists(name):
                        await self._make(name)
                self.pg_name = name
            return self.pg_name

    async def _make(self, name: str) -> None:
        # Filled under another name and renamed: a run killed halfway leaves no template that
        # looks complete. Those of other versions of the code go.
        prefix = name.rpartition("_")[0] + "_"
        for stale in await _databases_named(prefix):
            with contextlib.suppress(asyncpg.PostgresError):  # in use by another run: kept
                await _admin(f'DROP DATABASE "{stale}"')
        url = await create_database()
        assert url is not None
        await self._fill(url)
        await _admin(f'ALTER DATABASE "{url.rpartition("/")[2]}" RENAME TO "{name}"')

    async def copy(self, data: Path) -> str | None:
        """A new database copied from this template: on PostgreSQL its URL; on SQLite the
        node's database file in `data` (its default place), and None."""
        if PG_URL:
            return await AHEAD.copy_of(await self.postgresql(), big=self.places)
        data.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(await self.sqlite(), data / "iwsn.sqlite3")
        return None


def _filled_by() -> str:
    """A digest of what fills a template: the migrations, the models and the place loader."""
    root = Path(__file__).resolve().parent.parent
    sources = [
        *sorted((root / "migrations").rglob("*.py")),
        root / "actors" / "models.py",
        root / "actors" / "places.py",
    ]
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.read_bytes())
    from actors.places import data_version

    digest.update(data_version().encode())
    return digest.hexdigest()[:12]


async def _admin(sql: str, *args: Any) -> list[Any]:
    connection = await asyncpg.connect(_pg_parts(PG_URL)[0])
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


async def _database_exists(name: str) -> bool:
    return bool(await _admin("SELECT 1 FROM pg_database WHERE datname = $1", name))


async def _databases_named(prefix: str) -> list[str]:
    rows = await _admin("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
    return [row["datname"] for row in rows]


class _AheadOfNeed:
    """PostgreSQL databases copied from the templates a few ahead of need, and dropped after
    use, in a thread of their own: creating one (0.1-0.3 s) and dropping it then no longer come
    between a test and its nodes, which were waiting on them for every node they started."""

    AHEAD = 2

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stock: dict[tuple[str, bool], deque[Future[str | None]]] = {}
        self._drops: list[Future[None]] = []

    def _run(self, work: Any) -> Future[Any]:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            threading.Thread(
                target=self._loop.run_forever, name="test-databases", daemon=True
            ).start()
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    async def copy_of(self, template: str, *, big: bool) -> str:
        stock = self._stock.setdefault((template, big), deque())
        while len(stock) < self.AHEAD + 1:
            stock.append(self._run(create_database(template, big=big)))
        url = await asyncio.wrap_future(stock.popleft())
        assert url is not None
        return url

    def drop(self, url: str) -> None:
        self._drops.append(self._run(_drop_now(url)))

    def finish(self) -> None:
        """Drop what is left, and wait for every drop."""
        for stock in self._stock.values():
            for made in stock:
                url = made.result()
                if url is not None:
                    self.drop(url)
        self._stock.clear()
        for dropping in self._drops:
            dropping.result()
        self._drops.clear()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop = None


AHEAD = _AheadOfNeed()
MIGRATED = DatabaseTemplate(places=False)
PLACES = DatabaseTemplate(places=True)


async def drop_database(url: str) -> None:
    """Dropped soon, in the background: nothing uses a test's database once it has ended."""
    AHEAD.drop(url)


async def _drop_now(url: str) -> None:
    admin_dsn, _prefix = _pg_parts(PG_URL)
    name = url.rpartition("/")[2]
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@dataclass
class RunningNode:
    node: Node
    port: int
    server: _TestServer | None = None
    task: asyncio.Task[None] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.domain}"

    @property
    def federation(self) -> Any:
        return self.node.federation

    @property
    def db(self) -> Any:
        return self.node.db

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.stop()
            await self.task
            self.server = self.task = None


async def node_env(tmp_path: Path, org: str, port: int, *, places: bool = False) -> dict[str, str]:
    """A node's settings; `places=True`: its database holds the place table of "near you"."""
    data = tmp_path / f"node-{port}"
    env = {
        "IWSN_LOCAL_DEV": "1",
        "IWSN_SCHEME": "http",
        "IWSN_DOMAIN": f"127.0.0.1:{port}",
        "IWSN_DATA_DIR": str(data),
        "IWSN_ORG_NAME": org,
        "IWSN_LOG_LEVEL": "warning",
        # Most tests never search "near you": no node fills the table unasked.
        "IWSN_PLACES_AT_START": "0",
    }
    database = await (PLACES if places else MIGRATED).copy(data)
    if database is not None:
        env["IWSN_DATABASE_URL"] = database
    return env


NodeFactory = Callable[..., Awaitable[RunningNode]]


@pytest.fixture
async def start_node(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    """Start a node: `await start_node("alpha")`; `workers=0` leaves delivery to the test."""
    running: list[RunningNode] = []
    databases: list[str] = []

    async def start(
        org: str = "workers",
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
        places: bool = False,
    ) -> RunningNode:
        """`env` adds or overrides IWSN_* settings of this node; `places=True` gives it the
        place table of "near you" at once."""
        sock = free_socket()
        port = sock.getsockname()[1]
        env = {**await node_env(tmp_path, org, port, places=places), **(env or {})}
        if "IWSN_DATABASE_URL" in env:
            databases.append(env["IWSN_DATABASE_URL"])
        settings = prepare_data_dir(load(env))
        await migrate.upgrade(settings.database_url)
        node = Node(settings)
        await node.bootstrap()
        server, task = await _serve(create_app(node, workers=workers, process_inbox=True), sock)
        handle = RunningNode(node, port, server, task, env)
        running.append(handle)
        return handle

    yield start
    for handle in reversed(running):
        await handle.stop()
        # A test may read a node's database after stopping it: those connections close here.
        await handle.db.dispose()
    for database in databases:
        await drop_database(database)


@asynccontextmanager
async def served(settings: Any, **options: Any) -> AsyncIterator[str]:
    """A web process of a node (its database as `settings` say) configured as `iwsn serve`
    configures one (web.serving), with ServerOptions fields overridden by `options`."""
    from web import serving

    sock = free_socket()
    port = sock.getsockname()[1]
    config = serving.ServerOptions("127.0.0.1", port, "warning", False, **options)
    server = uvicorn.Server(serving.uvicorn_config(create_app(Node(settings), workers=0), config))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Sink:
    """A stand-in remote server that records every POST and answers as told."""

    port: int
    status: int = 202
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    received: list[tuple[str, bytes]] = field(default_factory=list)
    server: _TestServer | None = None
    task: asyncio.Task[None] | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        async def record(request: Request) -> Response:
            body = await request.body()
            if self.delay:
                await asyncio.sleep(self.delay)
            self.received.append((request.url.path, body))
            return Response(status_code=self.status, headers=self.headers)

        app = Starlette(routes=[Route("/{path:path}", record, methods=["POST"])])
        sock = free_socket()
        sock.close()
        # Rebinding the same port: a sink can be "down" (stopped) and "up" again at one address.
        rebound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        rebound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        rebound.bind(("127.0.0.1", self.port))
        self.server, self.task = await _serve(app, rebound)

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.stop()
            await self.task
            self.server = self.task = None


@pytest.fixture
async def sink_factory() -> AsyncIterator[Callable[[], Sink]]:
    sinks: list[Sink] = []

    def make() -> Sink:
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        sink = Sink(port)
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        await sink.stop()


_TRUTHY = object()


async def eventually(
    check: Callable[[], Awaitable[Any]],
    *,
    expect: Any = _TRUTHY,
    timeout: float = 15.0,
    interval: float = 0.05,
) -> Any:
    """Wait until `check()` returns `expect` (or anything truthy); fail with its last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if (value == expect) if expect is not _TRUTHY else bool(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        await asyncio.sleep(interval)


IWSN = str(Path(sys.executable).parent / "iwsn")


@dataclass
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


class IwsnForks:
    """The fork server of tests/iwsn_forks.py, started once per test process: each `iwsn`
    command a process of its own, forked from one that has already imported the node's code,
    instead of a new interpreter importing it all again (seconds per command on a busy CI)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.folder: Path | None = None

    @property
    def path(self) -> str:
        assert self.folder is not None
        return str(self.folder / "forks.sock")

    def _start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.folder = Path(tempfile.mkdtemp(prefix="iwsn-forks-"))
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("iwsn_forks.py")), self.path],
            stdin=subprocess.DEVNULL,
        )

    def _request(self, env: dict[str, str], args: tuple[str, ...], files: Path) -> bytes:
        umask = os.umask(0)
        os.umask(umask)
        request = {
            "args": list(args),
            "argv0": IWSN,
            "env": env,
            "cwd": os.getcwd(),
            "umask": umask,
            **{name: str(files / name) for name in ("stdin", "stdout", "stderr")},
        }
        return json.dumps(request).encode() + b"\n"

    @staticmethod
    def _files(folder: Path, stdin: str | None) -> None:
        (folder / "stdin").write_text(stdin or "")
        (folder / "stdout").touch()
        (folder / "stderr").touch()

    @staticmethod
    def _result(folder: Path, status: bytes, *, universal_newlines: bool) -> CommandResult:
        """The output as bytes.decode() gives it (a CSV's \\r\\n kept), or, as
        subprocess.run(text=True) gives it, with every line ending read as \\n."""
        out, err = ((folder / name).read_bytes().decode() for name in ("stdout", "stderr"))
        if universal_newlines:
            out, err = (text.replace("\r\n", "\n").replace("\r", "\n") for text in (out, err))
        return CommandResult(int(status), out, err)

    async def run(
        self, env: dict[str, str], args: tuple[str, ...], stdin: str | None, timeout: float
    ) -> CommandResult:
        self._start()
        with tempfile.TemporaryDirectory(prefix="iwsn-command-") as name:
            folder = Path(name)
            self._files(folder, stdin)
            while not os.path.exists(self.path):
                # The server imports the node's code before it listens: a second or two, once.
                assert self.process is not None and self.process.poll() is None
                await asyncio.sleep(0.02)
            reader, writer = await asyncio.open_unix_connection(self.path)
            try:
                writer.write(self._request(env, args, folder))
                await writer.drain()
                pid = int(await reader.readline())
                try:
                    status = await asyncio.wait_for(reader.readline(), timeout)
                except BaseException:
                    os.kill(pid, signal.SIGKILL)
                    raise
            finally:
                writer.close()
            return self._result(folder, status, universal_newlines=False)

    def run_sync(
        self, env: dict[str, str], args: tuple[str, ...], stdin: str | None, timeout: float
    ) -> CommandResult:
        """The same for a test that is no coroutine (nothing of its own runs meanwhile)."""
        self._start()
        with tempfile.TemporaryDirectory(prefix="iwsn-command-") as name:
            folder = Path(name)
            self._files(folder, stdin)
            while not os.path.exists(self.path):
                assert self.process is not None and self.process.poll() is None
                time.sleep(0.02)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(self.path)
                client.sendall(self._request(env, args, folder))
                answers = client.makefile("rb")
                pid = int(answers.readline())
                client.settimeout(timeout)
                try:
                    status = answers.readline()
                except BaseException:
                    os.kill(pid, signal.SIGKILL)
                    raise
            return self._result(folder, status, universal_newlines=True)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()
            self.process = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


FORKS = IwsnForks()


async def run_iwsn(
    env: dict[str, str], *args: str, check: bool = True, stdin: str | None = None
) -> CommandResult:
    """`iwsn ARGS` as its own process, with a node's settings (forked: IwsnForks).

    Not a blocking call: blocking the loop would freeze the node under test mid-transaction,
    and the command would wait on its database lock.
    """
    # A guard against a hung command, not an assertion about speed.
    result = await FORKS.run({**os.environ, **env}, args, stdin, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def run_iwsn_sync(env: dict[str, str], *args: str, stdin: str | None = None) -> CommandResult:
    """`iwsn ARGS` as its own process with exactly the environment `env`, for a test that is
    no coroutine."""
    return FORKS.run_sync(env, args, stdin, timeout=300)


@dataclass
class CaughtMail:
    sender: str
    recipients: list[str]
    message: Any  # email.message.EmailMessage


@dataclass
class SmtpCatcher:
    """A real SMTP server (aiosmtpd) on a loopback port that keeps what it is sent.

    It can be stopped and started again at the same address (a mail server down, then back),
    refuse recipients with a 5xx (`refuse`), and require a login (`credentials`)."""

    port: int
    caught: list[CaughtMail] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    credentials: tuple[str, str] | None = None
    controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        catcher = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address in catcher.refuse:
                    return catcher.refuse[address]
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                from email import message_from_bytes, policy

                message = message_from_bytes(envelope.original_content, policy=policy.default)
                catcher.caught.append(
                    CaughtMail(envelope.mail_from, list(envelope.rcpt_tos), message)
                )
                return "250 Message accepted"

        def authenticate(server, session, envelope, mechanism, auth_data):
            wanted = catcher.credentials
            given = (auth_data.login.decode(), auth_data.password.decode())
            # handled=False: aiosmtpd then answers the refusal itself (535).
            return AuthResult(success=wanted is not None and given == wanted, handled=False)

        options: dict[str, Any] = {}
        if self.credentials is not None:
            options = {"authenticator": authenticate, "auth_require_tls": False}
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[Any]:
        return [mail.message for mail in self.caught if address in mail.recipients]


@pytest.fixture
def smtp_catcher() -> Iterator[Callable[..., SmtpCatcher]]:
    """`smtp_catcher()` makes an SMTP catcher on a free loopback port, not yet started."""
    made: list[SmtpCatcher] = []

    def make(**options: Any) -> SmtpCatcher:
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        catcher = SmtpCatcher(port, **options)
        made.append(catcher)
        return catcher

    yield make
    for catcher in made:
        catcher.stop()
