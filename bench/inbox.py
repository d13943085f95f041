"""Inbox benchmark: signed activities/s one node accepts, against a bare Starlette route.

    python bench/inbox.py [--activities 10000] [--concurrency 64]

Processes (all on loopback): the receiving node (`iwsn serve --no-workers`), a sending node
(`iwsn serve`, so the receiver can fetch its actor and key once), a bare Starlette app with
one route answering 202 served by uvicorn exactly as `iwsn serve` serves the node, and a
load generator. K distinct Create(Note) activities of the sender's organization are signed
before any timing starts; the load generator POSTs them to the receiver's shared inbox over
keep-alive connections, then the same bytes to the bare route. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from federation.keys import public_key_pem
from federation.signatures import sign_request

ROOT = Path(__file__).resolve().parent.parent
IWSN = [sys.executable, "-m", "web.cli"]
# `iwsn serve` runs on uvloop already (web/cli.py _run); this installs it as the policy too,
# kept to compare with the bare route on uvloop.
IWSN_ON_UVLOOP = [
    sys.executable,
    "-c",
    "import sys, uvloop; uvloop.install(); from web.cli import main; sys.exit(main())",
]

# --- the bare baseline: one Starlette route, served like cmd_serve serves the node ----------


def serve_bare(port: int, use_uvloop: bool) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def accept(_request: Request) -> Response:
        return Response(status_code=202)

    app = Starlette(routes=[Route("/inbox", accept, methods=["POST"])])

    async def main() -> None:
        # The same uvicorn.Config arguments as web/cli.py cmd_serve.
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="info",
            access_log=False,
            proxy_headers=True,
            server_header=False,
        )
        await uvicorn.Server(config).serve()

    if use_uvloop:
        import uvloop

        uvloop.install()
    asyncio.run(main())


def serve_verify_only(port: int, public_pem_file: str) -> None:
    """The least any signed inbox must do: read, parse, check Digest and signature, answer.

    No database, no queue: the ceiling a real inbox is measured against besides the bare
    route (docs/limits.md: measured ~7,900/s for this on these machines).
    """
    import uvicorn
    import uvloop
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from federation.signatures import SignatureError, verify_request

    public_pem = Path(public_pem_file).read_text()

    async def accept(request: Request) -> Response:
        body = await request.body()
        json.loads(body)
        try:
            verify_request("POST", request.url.path, request.headers, body, public_pem)
        except SignatureError:
            return Response(status_code=401)
        return Response(status_code=202)

    app = Starlette(routes=[Route("/inbox", accept, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="info", access_log=False, server_header=False
    )
    uvloop.install()
    asyncio.run(uvicorn.Server(config).serve())


# --- the load generator: raw asyncio over keep-alive connections, in its own process ---------


class _Connection(asyncio.Protocol):
    """Sends one request, waits for its whole response, sends the next: HTTP/1.1 keep-alive."""

    def __init__(self, run: _LoadRun) -> None:
        self.run = run
        self.buffer = bytearray()
        self.transport: Any = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.ready.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.run.connection_done(self, lost=True)

    def send_next(self) -> None:
        request = self.run.next_request()
        if request is None:
            self.run.connection_done(self, lost=False)
            return
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = 0
            marker = head.find(b"\r\ncontent-length:")
            if marker >= 0:
                line_end = head.find(b"\r\n", marker + 2)
                length = int(head[marker + 17 : line_end if line_end >= 0 else None])
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            status = int(head[9:12])
            if status >= 400 and len(self.run.samples) < 5:
                self.run.samples.append(bytes(self.buffer[end + 4 : total])[:300])
            del self.buffer[:total]
            self.run.statuses[status] += 1
            self.send_next()


class _LoadRun:
    def __init__(self, requests: list[bytes], deadline: float) -> None:
        self.requests = requests
        self.deadline = deadline
        self.index = 0
        self.statuses: Counter[int] = Counter()
        self.samples: list[bytes] = []
        self.active: set[_Connection] = set()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost = 0

    def next_request(self) -> bytes | None:
        if self.index >= len(self.requests):
            return None
        # Checked every 64 requests: past the deadline, stop sending and let answers arrive.
        if self.index % 64 == 0 and time.perf_counter() > self.deadline:
            self.requests = self.requests[: self.index]
            return None
        request = self.requests[self.index]
        self.index += 1
        return request

    def connection_done(self, connection: _Connection, *, lost: bool) -> None:
        if connection in self.active:
            self.active.discard(connection)
            self.lost += lost
            if not self.active and not self.done.done():
                self.done.set_result(None)


async def _load(
    port: int, requests: list[bytes], concurrency: int, max_seconds: float
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    run = _LoadRun(requests, deadline=float("inf"))
    connections = []
    for _ in range(min(concurrency, len(requests))):
        _transport, protocol = await loop.create_connection(
            lambda: _Connection(run), "127.0.0.1", port
        )
        connections.append(protocol)
    run.active = set(connections)
    cpu_before = time.process_time()
    started = time.perf_counter()
    run.deadline = started + max_seconds
    for connection in connections:
        connection.send_next()
    await run.done
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    for connection in connections:
        if not connection.closed:
            connection.transport.close()
    return {
        "seconds": elapsed,
        "statuses": dict(run.statuses),
        "answered": sum(run.statuses.values()),
        "sent": run.index,
        "lost_connections": run.lost,
        "client_cpu": cpu,
        "samples": [s.decode("utf-8", "replace") for s in run.samples],
    }


def loadgen_main(conn: Connection) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    while True:
        try:
            command = conn.recv()
        except EOFError:
            return
        if command == "stop":
            return
        conn.send(asyncio.run(_load(*command)))


class LoadGenerator:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=loadgen_main, args=(child,), daemon=True)
        self.process.start()

    def run(
        self, port: int, requests: list[bytes], concurrency: int, max_seconds: float = 600.0
    ) -> dict[str, Any]:
        """Send the requests (stopping early after max_seconds); statuses and timing."""
        self.conn.send((port, requests, concurrency, max_seconds))
        return self.conn.recv()

    def stop(self) -> None:
        try:
            self.conn.send("stop")
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()


# --- processes under test -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def node_env(data_dir: Path, port: int, org: str, log_level: str, db_url: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IWSN_")}
    env.update(
        {
            "IWSN_LOCAL_DEV": "1",
            "IWSN_SCHEME": "http",
            "IWSN_DOMAIN": f"127.0.0.1:{port}",
            "IWSN_DATA_DIR": str(data_dir),
            "IWSN_ORG_NAME": org,
            "IWSN_LOG_LEVEL": log_level,
            "PYTHONPATH": str(ROOT),
        }
    )
    if db_url:
        env["IWSN_DATABASE_URL"] = db_url
    return env


def _parent_pid(proc_entry: Path) -> int | None:
    try:
        return int((proc_entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


class Server:
    """One process we started; stopped by its own pid only."""

    def __init__(self, name: str, command: list[str], env: dict, port: int, log: Path) -> None:
        self.name, self.port, self.log = name, port, log
        self.log_file = log.open("ab")
        self.process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=self.log_file, stderr=subprocess.STDOUT
        )

    def wait_ready(self, probe: str, timeout: float = 60.0) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited ({self.process.returncode}); see {self.log}")
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{self.port}{probe}",
                    headers={"Accept": "application/activity+json"},
                    method="GET" if probe != "/inbox" else "POST",
                    data=None if probe != "/inbox" else b"{}",
                )
                with opener.open(request, timeout=2) as response:
                    if response.status < 500:
                        return
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{self.name} did not start in {timeout:.0f}s; see {self.log}")

    def cpu_seconds(self) -> float | None:
        """User + system CPU so far of the process and its children (web helpers), from /proc."""
        pids = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _parent_pid(entry) == self.process.pid:
                pids.append(int(entry.name))
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                if pid == self.process.pid:
                    return None
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly on SIGINT
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


# --- the activities ----------------------------------------------------------------------------


def sender_key(database: Path, org: str) -> tuple[str, str, str]:
    """(actor uri, key id, private key PEM) of the sender's organization, from its database."""
    with sqlite3.connect(database) as db:
        row = db.execute(
            "SELECT uri, private_key_pem FROM local_actors WHERE username = ?", (org,)
        ).fetchone()
    if row is None:
        raise SystemExit(f"no actor {org!r} in {database}")
    uri, pem = row
    return uri, f"{uri}#main-key", pem


def note_body(actor_uri: str, base_url: str, number: int) -> bytes:
    note_id = f"{base_url}/notes/{uuid.uuid4()}"
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{base_url}/activities/{uuid.uuid4()}",
        "type": "Create",
        "actor": actor_uri,
        "published": "2026-05-01T09:00:00Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{actor_uri}/followers"],
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": actor_uri,
            "published": "2026-05-01T09:00:00Z",
            "url": note_id,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [f"{actor_uri}/followers"],
            "content": f"<p>Solidarity message {number}: the dock workers' strike continues, "
            "join the picket line at the harbour gate. #WorkersSolidarity</p>",
            "tag": [{"type": "Hashtag", "name": "#WorkersSolidarity"}],
        },
    }
    return json.dumps(activity).encode()


def signed_requests(
    count: int, *, inbox_url: str, actor_uri: str, key_id: str, pem: str
) -> list[bytes]:
    """`count` distinct, pre-signed POSTs as raw HTTP/1.1 bytes (signing is not timed)."""
    base_url = actor_uri.split("/actors/")[0]
    host_port = inbox_url.split("/")[2]
    path = "/" + inbox_url.split("/", 3)[3]

    def one(number: int) -> bytes:
        body = note_body(actor_uri, base_url, number)
        headers = sign_request("POST", inbox_url, key_id=key_id, private_key_pem=pem, body=body)
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: {headers['Host']}",
            "Content-Type: application/activity+json",
            f"Content-Length: {len(body)}",
            f"Date: {headers['Date']}",
            f"Digest: {headers['Digest']}",
            f"Signature: {headers['Signature']}",
            "User-Agent: iwsn-bench",
        ]
        assert headers["Host"] == host_port
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    # cryptography releases the GIL while signing: two threads use both cores.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(one, range(count)))


def received_count(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT count(*) FROM received_activities").fetchone()[0]


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Measure:
    label: str
    result: dict[str, Any]
    server_cpu: float | None

    @property
    def ok(self) -> int:
        return self.result["statuses"].get(202, 0)

    @property
    def rate(self) -> float:
        return self.ok / self.result["seconds"]

    def line(self) -> str:
        r = self.result
        notes = [f"{self.ok:,} x 202 in {r['seconds']:.1f}s"]
        if self.server_cpu is not None:
            notes.append(f"server CPU {self.server_cpu / r['seconds']:.2f} cores")
        notes.append(f"load generator CPU {r['client_cpu'] / r['seconds']:.2f} cores")
        others = {status: n for status, n in r["statuses"].items() if status != 202}
        if others:
            notes.append(f"other statuses {others}")
        if r["lost_connections"]:
            notes.append(f"connections lost {r['lost_connections']}")
        return f"{self.label:<48} {self.rate:>8,.0f}/s  ({', '.join(notes)})"


def measure(
    label: str,
    loadgen: LoadGenerator,
    server: Server,
    requests: list[bytes],
    concurrency: int,
    max_seconds: float,
) -> Measure:
    cpu_before = server.cpu_seconds()
    result = loadgen.run(server.port, requests, concurrency, max_seconds)
    cpu_after = server.cpu_seconds()
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    found = Measure(label, result, cpu)
    print(found.line(), flush=True)
    if result["samples"]:
        print(f"    e.g. {result['samples'][0]}", flush=True)
    return found


def warm(loadgen: LoadGenerator, server: Server, requests: list[bytes], concurrency: int) -> None:
    """First one alone (the receiver fetches the sender's key once), then the rest."""
    result = loadgen.run(server.port, requests[:1], 1)
    if result["statuses"].get(202) != 1:
        raise SystemExit(f"warm-up of {server.name} failed: {result}; see {server.log}")
    loadgen.run(server.port, requests[1:], concurrency)


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.servers: list[Server] = []
        self.loadgen = LoadGenerator()
        self.ports = {name: free_port() for name in ("receiver", "sender", "bare", "bare_uv")}
        self.receiver_env = node_env(
            tmp / "receiver", self.ports["receiver"], "workers", args.log_level, args.database_url
        )
        self.sender_env = node_env(tmp / "sender", self.ports["sender"], "sender", "warning", None)
        self.serve_args = ["serve", "--host", "127.0.0.1", "--no-workers", "--port"]
        self.receiver_args = ["--processes", str(args.processes)]

    def start(self, name: str, command: list[str], env: dict, port: int, probe: str) -> Server:
        server = Server(name, command, env, port, self.tmp / f"{name}.log")
        self.servers.append(server)
        server.wait_ready(probe)
        return server

    def stop(self, server: Server) -> None:
        server.stop()
        self.servers.remove(server)

    def start_node(self, name: str, env: dict, port: int, *, uvloop: bool = False) -> Server:
        subprocess.run(
            [*IWSN, "db", "upgrade"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL
        )
        command = [*(IWSN_ON_UVLOOP if uvloop else IWSN), *self.serve_args, str(port)]
        if name.startswith("receiver"):
            command += self.receiver_args
        if self.args.profile and name == "receiver":
            profile = str(Path(self.args.profile).resolve())
            command = [sys.executable, "-m", "cProfile", "-o", profile, "-m", "web.cli"]
            command += [*self.serve_args, str(port)]
        return self.start(name, command, env, port, "/actor")

    def start_bare(self, name: str, port: int, *, uvloop: bool = False) -> Server:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(port)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return self.start(
            name, command + (["--bare-on-uvloop"] if uvloop else []), env, port, "/inbox"
        )

    def run(self) -> None:
        args, loadgen, ports = self.args, self.loadgen, self.ports
        k, w, c = args.activities, args.warmup, args.concurrency
        # The sender serves its actor (and key) to the receiver, once, during warm-up.
        self.start_node("sender", self.sender_env, ports["sender"])
        receiver = self.start_node("receiver", self.receiver_env, ports["receiver"])
        bare = self.start_bare("bare", ports["bare"])

        actor_uri, key_id, pem = sender_key(self.tmp / "sender" / "iwsn.sqlite3", "sender")
        inbox_url = f"http://127.0.0.1:{ports['receiver']}/inbox"
        sets = 2 if args.uvloop else 1
        started = time.perf_counter()
        requests = signed_requests(
            sets * (w + k), inbox_url=inbox_url, actor_uri=actor_uri, key_id=key_id, pem=pem
        )
        print(
            f"pre-signed {len(requests):,} requests (~{len(requests[0]):,} bytes each) in "
            f"{time.perf_counter() - started:.1f}s, signed by {key_id}",
            flush=True,
        )
        warm_set, timed_set = requests[:w], requests[w : w + k]
        # The bare route ignores the body: the same bytes, repeated to fill its longer run.
        bare_set = (timed_set * (args.bare_requests // len(timed_set) + 1))[: args.bare_requests]
        database = self.tmp / "receiver" / "iwsn.sqlite3"
        on_sqlite = not args.database_url

        warm(loadgen, receiver, warm_set, c)
        loadgen.run(bare.port, warm_set, c)
        rows_before = received_count(database) if on_sqlite else 0
        print()
        bare_1 = measure(
            "bare Starlette, served as iwsn serve (1/2)", loadgen, bare, bare_set, c, 10
        )
        node = measure(
            f"node POST /inbox, iwsn serve --processes {args.processes}",
            loadgen,
            receiver,
            timed_set,
            c,
            args.seconds,
        )
        bare_2 = measure(
            "bare Starlette, served as iwsn serve (2/2)", loadgen, bare, bare_set, c, 10
        )
        rows = received_count(database) - rows_before if on_sqlite else None

        node_uv = bare_uv = None
        if args.uvloop:
            # The same node (same database, sender's key cached) restarted on uvloop.
            self.stop(receiver)
            receiver = self.start_node(
                "receiver-uvloop", self.receiver_env, ports["receiver"], uvloop=True
            )
            second = requests[w + k :]
            warm(loadgen, receiver, second[:w], c)
            bare_uv_server = self.start_bare("bare-uvloop", ports["bare_uv"], uvloop=True)
            loadgen.run(bare_uv_server.port, warm_set, c)
            bare_uv = measure("bare Starlette on uvloop", loadgen, bare_uv_server, bare_set, c, 10)
            node_uv = measure(
                "node POST /inbox, iwsn serve on uvloop",
                loadgen,
                receiver,
                second[w:],
                c,
                args.seconds,
            )

        # The minimal signed inbox, on the same requests, as the other ceiling.
        pem_file = self.tmp / "sender.pub.pem"
        pem_file.write_text(public_key_pem(pem))
        verify_port = free_port()
        verifier = self.start(
            "verify-only",
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--serve-verify",
                str(verify_port),
                str(pem_file),
            ],
            {**os.environ, "PYTHONPATH": str(ROOT)},
            verify_port,
            "/inbox",
        )
        loadgen.run(verifier.port, warm_set, c)
        verify_only = measure(
            "minimal signed inbox (verify, no storage)", loadgen, verifier, timed_set, c, 10
        )

        baseline = (bare_1.rate + bare_2.rate) / 2
        ratio = node.rate / baseline
        sent = node.result["sent"]
        print()
        print(f"signed activities sent           {sent:>9,}")
        print(f"  accepted (202)                 {node.ok:>9,}")
        if rows is not None:
            print(f"  new rows in received_activities{rows:>9,}")
        print(f"node inbox, activities/s         {node.rate:>9,.0f}")
        print(
            f"bare Starlette 202/s             {baseline:>9,.0f}   "
            f"(mean of {bare_1.rate:,.0f} before and {bare_2.rate:,.0f} after)"
        )
        verdict = "met" if ratio >= 0.4 else f"MISSED by {0.4 * baseline - node.rate:,.0f}/s"
        print(f"node / bare                      {ratio:>9.1%}   target >= 40%: {verdict}")
        print(
            f"minimal signed inbox / bare      {verify_only.rate / baseline:>9.1%}   "
            f"(node / minimal signed inbox {node.rate / verify_only.rate:.1%})"
        )
        if node_uv is not None and bare_uv is not None:
            print(
                f"both on uvloop: node {node_uv.rate:,.0f}/s / bare {bare_uv.rate:,.0f}/s = "
                f"{node_uv.rate / bare_uv.rate:.1%}"
            )

    def close(self) -> None:
        for server in list(self.servers):
            self.stop(server)
        self.loadgen.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=10_000, help="K distinct, signed")
    parser.add_argument("--seconds", type=float, default=30, help="cap on each node run")
    parser.add_argument("--bare-requests", type=int, default=50_000, help="per bare run (<=10s)")
    parser.add_argument("--warmup", type=int, default=300, help="untimed requests first")
    parser.add_argument("--concurrency", type=int, default=64, help="keep-alive connections")
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="web processes of the receiving node (iwsn serve --processes; default: CPUs)",
    )
    parser.add_argument(
        "--log-level", default="info", help="IWSN_LOG_LEVEL of the receiver (node default: info)"
    )
    parser.add_argument(
        "--no-uvloop",
        dest="uvloop",
        action="store_false",
        help="skip the extra pair of runs with uvloop installed",
    )
    parser.add_argument("--database-url", help="receiver on postgresql+asyncpg://... (empty db)")
    parser.add_argument("--profile", metavar="FILE", help="run the receiver under cProfile")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, databases)")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--bare-on-uvloop", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-verify", nargs=2, metavar=("PORT", "PEM"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.bare_on_uvloop)
        return
    if args.serve_verify:
        serve_verify_only(int(args.serve_verify[0]), args.serve_verify[1])
        return
    if min(args.activities, args.warmup, args.concurrency, args.bare_requests) < 1:
        parser.error("sizes must be positive")
    print(
        f"inbox benchmark: up to {args.activities:,} signed activities (at most "
        f"{args.seconds:.0f}s), concurrency {args.concurrency}, receiver log level "
        f"{args.log_level}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}",
        flush=True,
    )
    tmp = Path(tempfile.mkdtemp(prefix="iwsn-bench-inbox-"))
    bench = Bench(args, tmp)
    try:
        bench.run()
    finally:
        bench.close()
        if args.keep:
            print(f"kept {tmp} (logs and databases)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        if args.profile:
            print(f"receiver cProfile written to {args.profile}")


if __name__ == "__main__":
    main()
