"""The contact form's rate limits are counted in the database: every web process of a node
counts the same messages, per client address and per e-mail address."""

from __future__ import annotations

import asyncio
import os

import httpx
from support import eventually, served
from test_admin import csrf_from
from test_contact import count, started
from test_flood_gate import fill
from test_submit import send_plan
from test_web_processes import IWSN, answers, helpers_of

from actors.models import ContactMessage, Submission


async def post(base_url: str, node, *, email: str, cookies, token: str, source: str | None = None):
    # A client each: a connection of its own, which the kernel gives to either process.
    transport = httpx.AsyncHTTPTransport(local_address=source) if source else None
    async with httpx.AsyncClient(
        base_url=base_url, cookies=cookies, transport=transport, timeout=30
    ) as http:
        response = await http.post(
            "/contact",
            data={
                "csrf_token": token,
                "started": started(node),
                "website": "",
                "name": "Ana",
                "email": email,
                "topic": "question",
                "message": "Hello there",
            },
        )
    return response.status_code


async def bare_posts(base_url: str, path: str, times: int) -> list[int]:
    """Posts without a session or CSRF token, each over a connection of its own."""
    statuses = []
    for _ in range(times):
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            statuses.append((await http.post(path, data={"message": "x"})).status_code)
    return statuses


async def session(base_url: str, source: str | None = None):
    transport = httpx.AsyncHTTPTransport(local_address=source) if source else None
    async with httpx.AsyncClient(base_url=base_url, transport=transport, timeout=30) as http:
        page = await http.get("/contact")
        return http.cookies, csrf_from(page.text)


async def test_two_web_processes_count_the_same_messages(start_node):
    node = await start_node("alpha")
    async with served(node.node.settings) as other:
        cookies, token = await session(node.base_url)
        statuses = []
        for n in range(7):
            base_url = (node.base_url, other)[n % 2]
            statuses.append(
                await post(base_url, node, email=f"p{n}@x.example", cookies=cookies, token=token)
            )
        # Five an hour per client address, wherever they were sent.
        assert statuses == [303] * 5 + [429] * 2
        # And three per e-mail address, from any address.
        cookies, token = await session(node.base_url, "127.0.0.2")
        statuses = []
        for n in range(4):
            base_url = (node.base_url, other)[n % 2]
            statuses.append(
                await post(
                    base_url,
                    node,
                    email="same@x.example",
                    cookies=cookies,
                    token=token,
                    source=f"127.0.0.{n + 2}",
                )
            )
        assert statuses == [303] * 3 + [429]
    assert await count(node, ContactMessage) == 8


async def test_the_limit_holds_with_iwsn_serve_processes_2(start_node, tmp_path):
    node = await start_node("alpha", workers=0)
    await node.stop()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            IWSN,
            "serve",
            "--port",
            str(node.port),
            "--processes",
            "2",
            env={**os.environ, **node.env},
            stdout=output,
            stderr=output,
        )
    try:
        try:
            await eventually(lambda: answers(node.url("/contact")), expect=200, timeout=60)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; iwsn serve said:\n{log.read_text()}") from None
        await eventually(lambda: asyncio.sleep(0, len(helpers_of(process.pid))), expect=1)

        async def both_answer():
            statuses = await asyncio.gather(*(answers(node.url("/contact")) for _ in range(8)))
            return all(status == 200 for status in statuses)

        await eventually(both_answer, expect=True, timeout=60)
        cookies, token = await session(node.base_url)
        # Twelve messages over twelve connections, spread by the kernel over both processes:
        # counted per process, up to ten would pass.
        statuses = [
            await post(node.base_url, node, email=f"q{n}@x.example", cookies=cookies, token=token)
            for n in range(12)
        ]
        assert statuses == [303] * 5 + [429] * 7, statuses
        # Each process, once the database has refused the address there, refuses its next
        # posts itself, before the session and its CSRF token are looked at (a post without
        # a token would otherwise be a 403): after 27 refusals spread by the kernel, both have.
        more = [
            await post(node.base_url, node, email=f"r{n}@x.example", cookies=cookies, token=token)
            for n in range(20)
        ]
        assert more == [429] * 20, more
        assert await bare_posts(node.base_url, "/contact", 20) == [429] * 20
        assert await count(node, ContactMessage) == 5

        # The plans' form likewise, from an address the database already counts as full.
        await fill(node, "submit-address", "127.0.0.1", 10)
        plans = []
        for n in range(12):
            async with httpx.AsyncClient(base_url=node.base_url, timeout=30) as http:
                plans.append(
                    (await send_plan(http, node, lang="en", email=f"s{n}@x.example")).status_code
                )
        assert plans == [429] * 12, plans
        assert await bare_posts(node.base_url, "/submit", 20) == [429] * 20
        assert await count(node, Submission) == 0
    finally:
        process.terminate()
        await process.wait()
