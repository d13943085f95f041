"""Signatures benchmark: the public page and the count with 10,000 confirmed signatures.

    python bench/signatures.py [--signatures 10000] [--requests 300] [--database-url URL]

A node is prepared as `iwsn` prepares one, filled with N confirmed signatures (a third shown
publicly, one in five for an organization, spread over 30 countries) and 20 counts from other
nodes, then run as its own `iwsn serve` process on loopback. One client, one request at a time
over a keep-alive connection, measures the latency of:

- `/signatures` (the public page, HTML),
- `/signatures` as ActivityStreams (the count peers read: `totalItems` and the public
  organizations),
- `/static/site.css` from the same process: the baseline, a file served without the database.

It prints p50 and p95 of each, and the ratio of the pages' p50 to the baseline's. Target: p95
under 50 ms for the page and for the count. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inbox import Server, free_port, node_env

from actors import signatures
from actors.models import NetworkCount, Signature
from federation.db import utcnow
from web import migrate
from web.runtime import Node
from web.settings import load, prepare_data_dir

IWSN = [sys.executable, "-m", "web.cli"]
COUNTRIES = [
    "PT", "BR", "ES", "FR", "DE", "IT", "AR", "MX", "CO", "CL", "US", "CA", "GB", "IE", "NL",
    "BE", "PL", "ZA", "NG", "KE", "IN", "BD", "PH", "ID", "KR", "JP", "AU", "NZ", "TR", "EG",
]  # fmt: skip
TARGET_MS = 50.0


async def fill(env: dict[str, str], count: int) -> None:
    settings = prepare_data_dir(load(env))
    await migrate.upgrade(settings.database_url)
    node = Node(settings)
    await node.bootstrap()
    now = utcnow()
    async with node.db.transaction() as session:
        for number in range(count):
            organization = number % 5 == 0
            session.add(
                Signature(
                    email=f"signer{number}@example.org",
                    name=f"Signer {number}",
                    signer="organization" if organization else "individual",
                    organization_name=f"Union {number}" if organization else None,
                    organization_kind="union" if organization else None,
                    website=f"https://union{number}.example" if organization else None,
                    country=COUNTRIES[number % len(COUNTRIES)],
                    city="Lisboa",
                    comment="",
                    public=number % 3 == 0,
                    wants_membership=False,
                    language="en",
                    confirmed_at=now - timedelta(seconds=count - number),
                    manage_token_hash=f"{number:064d}",
                    created_at=now,
                    updated_at=now,
                )
            )
        await session.flush()
        # Stored by hand above: the count and version as a change would leave them.
        await signatures.count_changed(node.federation, session)
        for number in range(20):
            host = f"node{number}.example"
            session.add(
                NetworkCount(
                    collection_uri=f"https://{host}/signatures",
                    host=host,
                    total=1000 + number,
                    received_at=now,
                )
            )
    await node.aclose()
    await node.db.dispose()


def measure(client: httpx.Client, url: str, headers: dict[str, str], requests: int) -> list[float]:
    for _ in range(20):  # warm up: caches, the connection, the first query plans
        client.get(url, headers=headers).raise_for_status()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signatures", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="iwsn-bench-signatures-") as tmp:
        port = free_port()
        env = node_env(Path(tmp) / "node", port, "workers", "warning", args.database_url)
        started = time.perf_counter()
        asyncio.run(fill(env, args.signatures))
        seconds = time.perf_counter() - started
        print(f"{args.signatures} confirmed signatures stored in {seconds:.1f} s")
        server = Server(
            "node", [*IWSN, "serve", "--port", str(port)], env, port, Path(tmp) / "node.log"
        )
        try:
            server.wait_ready("/signatures")
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=30) as client:
                count = client.get("/signatures", headers={"Accept": "application/activity+json"})
                assert count.json()["totalItems"] == args.signatures, count.text[:200]
                figures = {
                    "baseline /static/site.css": measure(
                        client, "/static/site.css", {}, args.requests
                    ),
                    "public page /signatures": measure(client, "/signatures", {}, args.requests),
                    "count /signatures (AS2)": measure(
                        client,
                        "/signatures",
                        {"Accept": "application/activity+json"},
                        args.requests,
                    ),
                }
        finally:
            server.stop()
    baseline = statistics.median(figures["baseline /static/site.css"])
    print(f"{'':28} {'p50 ms':>8} {'p95 ms':>8} {'p50 / baseline':>15}")
    verdicts = []
    for name, times in figures.items():
        median = statistics.median(times)
        print(f"{name:28} {median:8.2f} {p95(times):8.2f} {median / baseline:15.1f}")
        if not name.startswith("baseline"):
            verdicts.append(p95(times) < TARGET_MS)
    print(f"target p95 < {TARGET_MS:.0f} ms: {'met' if all(verdicts) else 'NOT met'}")


if __name__ == "__main__":
    main()
