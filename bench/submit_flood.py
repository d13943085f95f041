"""A flood of plans on /submit, and what it does to the node's other pages.

    python bench/submit_flood.py [--senders 50] [--concurrency 16] [--seconds 20]
        [--requests 200] [--database-url URL]

A node runs as its own `iwsn serve` process (one web process with its workers, as shipped). One
client measures, one request at a time over a keep-alive connection, the latency of the home
page and of `/actions`: first alone, then while a separate process floods `/submit` from
`--senders` loopback addresses (127.0.0.2, 127.0.0.3, …; each one a client with its session,
its CSRF token and a form opened long enough ago), `--concurrency` posts in flight, for
`--seconds`. The flood's answers are counted: plans taken (303) and refused by the limits (429),
which are per client address and per e-mail address and kept in the database.

It prints p50 and p95 of each page alone and under the flood, and the ratio. Issue 15 asks that
a flood of submissions not slow the node's other pages. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inbox import Server, free_port, node_env

from web.form_guard import FormGuard

IWSN = [sys.executable, "-m", "web.cli"]
SECRET = "bench-submit-flood-secret-key-0123456789"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
YEAR = date.today().year + 1


def plan(number: int, sender: int) -> dict[str, str]:
    return {
        "title": f"Picket {number}",
        "kind": "picket",
        "starts": f"{YEAR}-05-01T10:00",
        "ends": f"{YEAR}-05-01T12:00",
        "timezone": "Europe/Lisbon",
        "place_name": "Cais",
        "city": "Lisboa",
        "country": "PT",
        "description": "Everyone welcome.",
        "name": f"Sender {sender}",
        "email": f"sender{sender}-{number}@example.org",
        "website": "",
        "started": FormGuard(SECRET, "submit").token(now=time.time() - 60),
    }


async def _flood(base: str, senders: int, concurrency: int, seconds: float, out) -> None:
    clients = []
    for sender in range(senders):
        transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{sender + 2}")
        client = httpx.AsyncClient(base_url=base, transport=transport, timeout=60)
        page = await client.get("/submit")
        clients.append((client, CSRF.search(page.text).group(1)))
    counts: dict[int, int] = {}
    deadline = time.monotonic() + seconds
    number = 0

    async def one_sender() -> None:
        nonlocal number
        while time.monotonic() < deadline:
            number += 1
            sender = number % senders
            client, token = clients[sender]
            try:
                answer = await client.post(
                    "/submit", data={"csrf_token": token, **plan(number, sender)}
                )
            except httpx.TransportError:
                # A keep-alive connection the node closed as it was reused: counted, not fatal
                # (a flooder that died would leave the measuring side waiting for its counts).
                counts[0] = counts.get(0, 0) + 1
                continue
            counts[answer.status_code] = counts.get(answer.status_code, 0) + 1

    await asyncio.gather(*(one_sender() for _ in range(concurrency)))
    for client, _token in clients:
        await client.aclose()
    out.send(counts)


def flood(base: str, senders: int, concurrency: int, seconds: float, out) -> None:
    asyncio.run(_flood(base, senders, concurrency, seconds, out))


def measure(client: httpx.Client, path: str, requests: int) -> list[float]:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) the process has used: what the flood costs the node,
    which the machine's other load changes far less than it changes latencies."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    pages = ("/", "/actions")
    with tempfile.TemporaryDirectory(prefix="iwsn-bench-submit-") as tmp:
        port = free_port()
        env = node_env(Path(tmp) / "node", port, "workers", "warning", args.database_url)
        env.update({"IWSN_SECRET_KEY": SECRET, "IWSN_PLACES_AT_START": "0"})
        server = Server(
            "node", [*IWSN, "serve", "--port", str(port)], env, port, Path(tmp) / "node.log"
        )
        try:
            server.wait_ready("/submit")
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=60) as client:
                for path in pages:
                    measure(client, path, 20)  # warm up
                alone = {path: measure(client, path, args.requests) for path in pages}
                receiving, sending = multiprocessing.Pipe(duplex=False)
                flooding = multiprocessing.Process(
                    target=flood,
                    args=(base, args.senders, args.concurrency, args.seconds, sending),
                )
                cpu_before = cpu_seconds(server.process.pid)
                flooding.start()
                time.sleep(2)  # the senders open their forms, the flood starts
                flooded = {path: measure(client, path, args.requests) for path in pages}
                counts = receiving.recv()
                flooding.join()
                cpu = cpu_seconds(server.process.pid) - cpu_before
        finally:
            server.stop()
    taken, refused = counts.get(303, 0), counts.get(429, 0)
    others = {code or "connection lost": n for code, n in counts.items() if code not in (303, 429)}
    print(
        f"flood: {sum(counts.values())} posts from {args.senders} addresses in "
        f"{args.seconds:.0f} s: {taken} plans taken, {refused} refused by the limits"
        + (f", other answers {others}" if others else "")
    )
    total = sum(counts.values())
    print(
        f"node CPU during the flood: {cpu:.1f} s, {cpu / max(total, 1) * 1000:.2f} ms a post "
        f"(the timed pages' {2 * args.requests} requests included)"
    )
    print(f"{'':12} {'alone p50':>10} {'p95':>8} {'flooded p50':>12} {'p95':>8} {'p95 ratio':>10}")
    for path in pages:
        a, f = alone[path], flooded[path]
        print(
            f"{path:12} {statistics.median(a):10.2f} {p95(a):8.2f} "
            f"{statistics.median(f):12.2f} {p95(f):8.2f} {p95(f) / p95(a):10.1f}"
        )


if __name__ == "__main__":
    main()
