"""Reads benchmark: public pages and federation reads of one node, against a bare route.

    python bench/reads.py [--seconds 5] [--concurrency 32] [--stampede 500] [--processes 1]
        [--inbox-concurrency 8] [--inbox-activities 8000] [--database-url URL] [--keep]

A node is prepared as `iwsn` prepares one (one organization, one action), then run as its own
`iwsn serve` process (one web process unless `--processes`) on loopback. A bare Starlette
app, served by uvicorn as `iwsn serve` serves the node, answers `GET /bytes/N` with N bytes
of HTML. For each read below, the bare route is measured right before it with the same number
of bytes, and the node's requests/s is printed as a ratio of it (the machine is shared:
ratios, not absolute numbers):

- an action's page (HTML) and its AS2 object, the organization's actor, WebFinger,
- the home page, the action list, the alerts page;
- the action's page again with its `ETag` in `If-None-Match` (answered 304): what a cache in
  front that revalidates costs the node.

Then a stampede: a new action is published and at once `--stampede` connections each fetch
its page or its object (half each), as servers receiving the `Create` would: failures, p50
and p99. Meanwhile another node (`iwsn serve`) posts signed activities to the node's inbox over
`--inbox-concurrency` connections, as the network keeps doing; their rate during the stampede is
compared with their rate alone, measured just before. The node's resident memory is reported
idle and after the stampede. Target (issue 13): every read at least 30% of the bare route; the
stampede without failure, p99 < 1 s; the inbox keeps at least half its rate.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inbox import (
    ROOT,
    Server,
    _parent_pid,
    free_port,
    node_env,
    sender_key,
    signed_requests,
)

IWSN = [sys.executable, "-m", "web.cli"]
AS2 = "application/activity+json"
TARGET = 0.30
# The inbox alone is measured this long: at ~1,500 activities/s, half of --inbox-activities.
INBOX_SECONDS = 2.0

BARE = """
import sys, asyncio, uvicorn
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

bodies = {}

async def sized(request):
    size = int(request.path_params["size"])
    if size not in bodies:
        bodies[size] = "<!doctype html><p>" + "x" * max(0, size - 18)
    return HTMLResponse(bodies[size])

app = Starlette(routes=[Route("/bytes/{size:int}", sized)])

async def main():
    # The same uvicorn.Config arguments as web/cli.py cmd_serve (see bench/inbox.py).
    config = uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                            access_log=False, proxy_headers=True, server_header=False)
    await uvicorn.Server(config).serve()

import uvloop
uvloop.install()  # `iwsn serve` runs on uvloop (web/serving.py): the same loop for both
asyncio.run(main())
"""


# --- the load generator: raw HTTP/1.1 keep-alive GETs with per-request latency ----------------


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


def _request(path: str, host: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _steady(port: int, request: bytes, concurrency: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(request)
                statuses[await _read_response(reader)] += 1
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return {"seconds": time.perf_counter() - started, "latencies": latencies, "statuses": statuses}


async def _stampede(port: int, requests: list[bytes]) -> dict[str, Any]:
    """Each request on its own new connection, all at once: servers do not share connections."""
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    gate = asyncio.Event()

    async def one(request: bytes) -> None:
        await gate.wait()
        started = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            status = await asyncio.wait_for(_read_response(reader), 60)
            writer.close()
            if status != 200:
                failures[str(status)] += 1
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            failures[type(exc).__name__] += 1
        latencies.append(time.perf_counter() - started)

    tasks = [asyncio.create_task(one(request)) for request in requests]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(*tasks)
    return {"latencies": latencies, "failures": failures}


class _Posting:
    """Signed inbox POSTs, each activity once, over keep-alive connections until stopped; the
    time each 202 came back, to count those within any window."""

    def __init__(self, port: int, requests: list[bytes], concurrency: int) -> None:
        self.port, self.concurrency = port, concurrency
        self.requests = iter(requests)
        self.done: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.exhausted = False
        self.stop = asyncio.Event()

    async def run(self) -> None:
        await asyncio.gather(*(self._client() for _ in range(self.concurrency)))

    async def _client(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            while not self.stop.is_set():
                request = next(self.requests, None)
                if request is None:
                    self.exhausted = True
                    return
                writer.write(request)
                status = await _read_response(reader)
                self.statuses[status] += 1
                if status == 202:
                    self.done.append(time.perf_counter())
        finally:
            writer.close()

    def rate(self, start: float, end: float) -> float:
        if self.exhausted and self.done:
            end = min(end, self.done[-1])  # not the idle time after the last activity
        return sum(start <= t <= end for t in self.done) / (end - start)


async def _inbox_alone(
    port: int, requests: list[bytes], concurrency: int, seconds: float
) -> dict[str, Any]:
    posting = _Posting(port, requests, concurrency)
    task = asyncio.create_task(posting.run())
    await asyncio.sleep(0.5)  # connections open, keys fetched
    start = time.perf_counter()
    await asyncio.sleep(seconds)
    end = time.perf_counter()
    posting.stop.set()
    await task
    return {"rate": posting.rate(start, end), "statuses": posting.statuses,
            "exhausted": posting.exhausted}  # fmt: skip


async def _stampede_with_inbox(
    port: int, requests: list[bytes], inbox_port: int, posts: list[bytes], concurrency: int
) -> dict[str, Any]:
    """The stampede while signed activities keep arriving: the inbox's rate during it."""
    posting = _Posting(inbox_port, posts, concurrency)
    task = asyncio.create_task(posting.run())
    await asyncio.sleep(0.5)
    start = time.perf_counter()
    result = await _stampede(port, requests)
    end = time.perf_counter()
    posting.stop.set()
    await task
    return {**result, "seconds": end - start, "inbox_rate": posting.rate(start, end),
            "inbox_statuses": posting.statuses, "exhausted": posting.exhausted}  # fmt: skip


def loadgen_main(conn: Connection) -> None:
    import uvloop

    uvloop.install()
    kinds = {
        "steady": _steady,
        "stampede": _stampede,
        "inbox": _inbox_alone,
        "stampede+inbox": _stampede_with_inbox,
    }
    while (command := conn.recv()) != "stop":
        kind, *args = command
        conn.send(asyncio.run(kinds[kind](*args)))


# --- the node --------------------------------------------------------------------------------


async def prepare(env: dict[str, str]) -> str:
    """Migrate, bootstrap and publish one action; its URI."""
    from actors import events
    from web import migrate
    from web.runtime import Node
    from web.settings import load, prepare_data_dir

    settings = prepare_data_dir(load(env))
    await migrate.upgrade(settings.database_url)
    node = Node(settings)
    await node.bootstrap()
    event = await events.publish(node.federation, may_day("May Day march"), category="action")
    await node.aclose()
    await node.db.dispose()
    return event.uri


def may_day(title: str) -> Any:
    from actors import events

    year = datetime.now().year + 1
    return events.EventInput(
        title=title,
        kind="march",
        starts=datetime(year, 5, 1, 10, 0),
        ends=datetime(year, 5, 1, 13, 0),
        timezone="Europe/Lisbon",
        place_name="Praça do Comércio",
        city="Lisboa",
        country="PT",
        tags=["MayDay"],
        description="Bring **banners**. " * 20,
    )


def publish_new(env: dict[str, str]) -> str:
    """Publish a second action from another process, as `iwsn action create` would."""
    output = subprocess.run(
        [*IWSN, "action", "create", "--title", "Strike picket", "--kind", "march",
         "--starts", f"{datetime.now().year + 1}-06-01T08:00",
         "--ends", f"{datetime.now().year + 1}-06-01T12:00",
         "--timezone", "Europe/Lisbon", "--place", "Avenida dos Aliados", "--city", "Porto",
         "--country", "PT",
         "--description", "Join the picket. " * 20],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return next(word for word in output.split() if word.startswith("http"))


def rss_mb(server: Server) -> tuple[float, float]:
    """Resident memory of the web process, and of it with its children (signing helper)."""
    pids = [server.process.pid] + [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _parent_pid(p) == server.process.pid
    ]
    sizes = []
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return (sizes[0] if sizes else 0.0), sum(sizes)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per read, and per baseline")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--stampede", type=int, default=500)
    parser.add_argument("--processes", type=int, default=1, help="web processes of the node")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--inbox-concurrency", type=int, default=8,
        help="connections posting signed activities, alone and during the stampede (0: none)",
    )  # fmt: skip
    parser.add_argument("--inbox-activities", type=int, default=8000, help="distinct, pre-signed")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="iwsn-bench-reads-")
    port, bare_port = free_port(), free_port()
    host = f"127.0.0.1:{port}"
    env = node_env(Path(tmp) / "node", port, "workers", "warning", args.database_url)
    action = asyncio.run(prepare(env))
    path = action.split(host, 1)[1]
    reads = {
        "action page (HTML)": (path, {"Accept": "text/html"}),
        "action object (AS2)": (path, {"Accept": AS2}),
        "organization actor": ("/actors/workers", {"Accept": AS2}),
        "WebFinger": (f"/.well-known/webfinger?resource=acct:workers@{host}", {}),
        "home page": ("/", {"Accept": "text/html"}),
        "action list": ("/actions", {"Accept": "text/html"}),
        "alerts page": ("/alerts", {"Accept": "text/html"}),
    }
    context = multiprocessing.get_context("spawn")
    conn, child = context.Pipe()
    loadgen = context.Process(target=loadgen_main, args=(child,), daemon=True)
    loadgen.start()
    command = [*IWSN, "serve", "--port", str(port), "--processes", str(args.processes)]
    node = Server("node", command, env, port, Path(tmp) / "node.log")
    bare = Server(
        "bare", [sys.executable, "-c", BARE, str(bare_port)], env, bare_port,
        Path(tmp) / "bare.log",
    )  # fmt: skip

    sender = None
    if args.inbox_concurrency:
        # Another node whose organization signs the activities: the node fetches its key once.
        sender_port = free_port()
        sender_env = node_env(Path(tmp) / "sender", sender_port, "senders", "warning", None)
        sender = Server("sender", [*IWSN, "serve", "--port", str(sender_port)], sender_env,
                        sender_port, Path(tmp) / "sender.log")  # fmt: skip

    def load(*command: Any) -> dict[str, Any]:
        conn.send(command)
        return conn.recv()

    try:
        node.wait_ready("/actors/workers")
        bare.wait_ready("/bytes/10")
        import httpx

        sizes = {}
        with httpx.Client(base_url=f"http://{host}", timeout=30) as client:
            for name, (target, headers) in reads.items():
                response = client.get(target, headers=headers)
                response.raise_for_status()
                sizes[name] = len(response.content)
            # What a revalidating cache in front costs the node: the page is still made to
            # compare its tag, only the bytes are saved (web/read_cache.py).
            etag = client.get(path, headers={"Accept": "text/html"}).headers.get("etag")
        if etag:
            name = "action page, 304"
            reads[name] = (path, {"Accept": "text/html", "If-None-Match": etag})
            sizes[name] = sizes["action page (HTML)"]
        idle = rss_mb(node)
        database = "PostgreSQL" if args.database_url else "SQLite"
        print(f"node: {args.processes} web process(es), {database}; "
              f"{args.concurrency} keep-alive clients, {args.seconds:.0f} s each")  # fmt: skip
        print(f"{'read':22} {'bytes':>7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'bare req/s':>10} {'node/bare':>9}")  # fmt: skip
        verdicts = []
        for name, (target, headers) in reads.items():
            bare_request = _request(f"/bytes/{sizes[name]}", f"127.0.0.1:{bare_port}", {})
            load("steady", bare_port, bare_request, args.concurrency, 1.0)  # warm up
            base = load("steady", bare_port, bare_request, args.concurrency, args.seconds)
            request = _request(target, host, headers)
            load("steady", port, request, args.concurrency, 1.0)
            got = load("steady", port, request, args.concurrency, args.seconds)
            bad = {s: n for s, n in got["statuses"].items() if s not in (200, 304)}
            rate = len(got["latencies"]) / got["seconds"]
            base_rate = len(base["latencies"]) / base["seconds"]
            ratio = rate / base_rate
            verdicts.append(ratio >= TARGET and not bad)
            print(
                f"{name:22} {sizes[name]:7} {rate:8.0f} "
                f"{percentile(got['latencies'], 0.5) * 1000:7.1f} "
                f"{percentile(got['latencies'], 0.99) * 1000:7.1f} {base_rate:10.0f} "
                f"{ratio:9.1%}" + (f"  not 200: {bad}" if bad else "")
            )
        posts: list[bytes] = []
        if sender is not None:
            sender.wait_ready("/actors/senders")
            actor_uri, key_id, pem = sender_key(Path(tmp) / "sender" / "iwsn.sqlite3", "senders")
            posts = signed_requests(args.inbox_activities, inbox_url=f"http://{host}/inbox",
                                    actor_uri=actor_uri, key_id=key_id, pem=pem)  # fmt: skip
            half = len(posts) // 2
            alone = load("inbox", port, posts[:half], args.inbox_concurrency, INBOX_SECONDS)
            print(f"inbox alone: {alone['rate']:.0f} activities/s accepted "
                  f"({args.inbox_concurrency} connections)"
                  + (" (ran out of activities: raise --inbox-activities)"
                     if alone["exhausted"] else ""))  # fmt: skip
            posts = posts[half:]
        new = publish_new(env).split(host, 1)[1]
        requests = [
            _request(new, host, {"Accept": "text/html" if n % 2 else AS2})
            for n in range(args.stampede)
        ]
        if posts:
            stampede = load("stampede+inbox", port, requests, port, posts, args.inbox_concurrency)
        else:
            stampede = load("stampede", port, requests)
        after = rss_mb(node)
        latencies = stampede["latencies"]
        failed = sum(stampede["failures"].values())
        print(
            f"stampede: {args.stampede} fetches of a new action's page and object at once: "
            f"{failed} failed {dict(stampede['failures']) or ''}, "
            f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms"
        )
        print(
            f"resident memory: idle {idle[0]:.0f} MB (with helpers {idle[1]:.0f} MB), "
            f"after the stampede {after[0]:.0f} MB ({after[1]:.0f} MB)"
        )
        stampede_ok = failed == 0 and percentile(latencies, 0.99) < 1.0
        if posts:
            kept = stampede["inbox_rate"] / alone["rate"] if alone["rate"] else 0.0
            print(f"inbox during the stampede ({stampede['seconds'] * 1000:.0f} ms): "
                  f"{stampede['inbox_rate']:.0f} activities/s, {kept:.0%} of its rate alone "
                  f"(target >= 50%)")  # fmt: skip
            stampede_ok = stampede_ok and kept >= 0.5
        print(f"target every read >= {TARGET:.0%} of bare: {'met' if all(verdicts) else 'NOT met'}"
              f"; stampede: {'met' if stampede_ok else 'NOT met'}")  # fmt: skip
    finally:
        conn.send("stop")
        loadgen.join(timeout=5)
        node.stop()
        bare.stop()
        if sender is not None:
            sender.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    main()
