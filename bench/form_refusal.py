"""What one refused post to /submit costs inside a web process, without the network.

    python bench/form_refusal.py [--posts 2000]

The node's application is called directly (ASGI) for a client address the database already
counts as past its limit: first as a web process that has not yet been told (the post goes
through every middleware, the session, the CSRF check and the database's throttle, and the
form's early refusal answers), then as one that has (web/flood_gate.py answers first). The
home page is timed the same way, for scale. SQLite in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from typing import Any

from web import migrate
from web.app import create_app
from web.flood_gate import Refusals
from web.runtime import Node
from web.settings import load, prepare_data_dir
from web.throttle import Throttle

CLIENT = "127.0.0.9"


async def call(app: Any, method: str, path: str, headers=(), body: bytes = b"") -> dict:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers],
        "client": (CLIENT, 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays; the app never needs more
        raise AssertionError

    answer: dict = {"body": b""}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer.update(status=message["status"], headers=message["headers"])
        else:
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer


async def main(posts: int) -> None:
    with tempfile.TemporaryDirectory(prefix="iwsn-bench-refusal-") as tmp:
        env = {
            "IWSN_LOCAL_DEV": "1",
            "IWSN_SCHEME": "http",
            "IWSN_DOMAIN": "127.0.0.1:8000",
            "IWSN_DATA_DIR": tmp,
            "IWSN_ORG_NAME": "workers",
            "IWSN_LOG_LEVEL": "warning",
            "IWSN_PLACES_AT_START": "0",
        }
        settings = prepare_data_dir(load(env))
        await migrate.upgrade(settings.database_url)
        node = Node(settings)
        await node.bootstrap()
        app = create_app(node, workers=0)
        try:
            await _measure(app, node, posts)
        finally:
            await node.aclose()


async def _measure(app: Any, node: Node, posts: int) -> None:
    page = await call(app, "GET", "/submit")
    cookies = "; ".join(
        value.decode().split(";")[0] for name, value in page["headers"] if name == b"set-cookie"
    )
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page["body"]).group(1).decode()
    body = f"csrf_token={token}&title=Picket".encode()
    headers = [
        ("cookie", cookies),
        ("content-type", "application/x-www-form-urlencoded"),
        ("content-length", str(len(body))),
        ("accept-language", "de"),
    ]
    throttle = Throttle(node.db, "submit-address")
    for _ in range(10):
        await throttle.hit(CLIENT)

    async def refusals(told: bool) -> float:
        app.state.flood_refusals = Refusals()
        assert (await call(app, "POST", "/submit", headers, body))["status"] == 429
        started = time.perf_counter()
        for _ in range(posts):
            if not told:
                app.state.flood_refusals = Refusals()  # a process the database has not told
            assert (await call(app, "POST", "/submit", headers, body))["status"] == 429
        return (time.perf_counter() - started) / posts * 1e6

    untold = await refusals(told=False)
    told = await refusals(told=True)
    started = time.perf_counter()
    for _ in range(200):
        assert (await call(app, "GET", "/", [("accept-language", "de")]))["status"] == 200
    home = (time.perf_counter() - started) / 200 * 1e6
    print(f"refused by the form (session, CSRF, database): {untold:8.0f} µs a post")
    print(f"refused by the gate (the process was told):    {told:8.0f} µs a post")
    print(f"the home page, for scale:                      {home:8.0f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    asyncio.run(main(parser.parse_args().posts))
