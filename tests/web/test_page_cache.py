"""Public answers kept in each web process: served again until the data under them changes,
whichever process changes it, and never to someone they were not made for."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
from sqlalchemy import update
from support import eventually
from test_admin import PASSWORD, client, login, setup_admin
from test_feeds import may_day

from actors import alerts, events, organizations
from actors.models import Event

AS2 = {"Accept": "application/activity+json"}
HTML = {"Accept": "text/html"}
IWSN = str(Path(sys.executable).parent / "iwsn")


async def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET"):
    async with httpx.AsyncClient() as http:
        return await http.request(method, url, headers=headers or {})


async def retitle_behind_its_back(node, uri: str, title: str) -> None:
    """A change the node is not told of: straight to the table, outside its sessions."""
    async with node.db.engine.begin() as connection:
        await connection.execute(
            update(Event.__table__).where(Event.__table__.c.uri == uri).values(title=title)
        )


async def test_a_kept_answer_is_served_until_a_commit_moves_the_version(start_node):
    # No workers: the fan-out of the Create, a commit of its own, would move the version too.
    node = await start_node("alpha", workers=0)
    event = await events.publish(node.federation, may_day(), category="action")
    first = {"page": await fetch(event.uri, HTML), "object": await fetch(event.uri, AS2)}
    await retitle_behind_its_back(node, event.uri, "Title nobody was told of")
    for kind, headers in (("page", HTML), ("object", AS2)):
        again = await fetch(event.uri, headers)
        # The bytes made before: the change went round the node, so nothing asked for new ones.
        assert again.content == first[kind].content, kind
        assert "age" in again.headers
        assert again.headers["etag"] == first[kind].headers["etag"]
    # An edit through the node commits, moves the version, and the next request sees it.
    await events.edit(node.federation, event.uri, may_day(title="May Day march, new route"))
    for headers in (HTML, AS2):
        changed = await fetch(event.uri, headers)
        assert "new route" in changed.text
        assert "nobody was told" not in changed.text


async def test_with_the_cache_off_every_answer_is_made_anew(start_node):
    node = await start_node("alpha", env={"IWSN_READ_CACHE_SECONDS": "0"})
    event = await events.publish(node.federation, may_day(), category="action")
    assert "May Day march" in (await fetch(event.uri, HTML)).text
    await retitle_behind_its_back(node, event.uri, "Title nobody was told of")
    assert "nobody was told" in (await fetch(event.uri, HTML)).text


async def test_a_kept_answer_goes_only_to_requests_it_was_made_for(start_node):
    node = await start_node("alpha")
    event = await events.publish(node.federation, may_day(), category="action")
    path = event.uri.split(node.base_url, 1)[1]
    english = await fetch(node.url("/"), {**HTML, "Accept-Language": "en"})
    assert english.headers["content-language"] == "en"
    await fetch(event.uri, HTML)
    # Another language, by header or by the cookie a visitor chose it with.
    german = await fetch(node.url("/"), {**HTML, "Accept-Language": "de"})
    assert german.headers["content-language"] == "de"
    chosen = await fetch(node.url("/"), {**HTML, "Accept-Language": "en", "Cookie": "lang=es"})
    assert chosen.headers["content-language"] == "es"
    # An admin, logged in after an anonymous visitor was served: their own pages.
    await setup_admin(node)
    async with client(node) as http:
        assert (await login(http, "admin", PASSWORD)).status_code == 303
        for where in ("/", path):
            page = await http.get(where, headers={"Accept-Language": "en"})
            assert "/admin/logout" in page.text, where
            assert page.headers["cache-control"] == "no-store", where
    # And the anonymous page was not replaced by the admin's.
    again = await fetch(node.url("/"), {**HTML, "Accept-Language": "en"})
    assert "/admin/logout" not in again.text
    assert again.content == english.content


async def test_head_and_revalidation_are_answered_from_the_kept_answer(start_node):
    node = await start_node("alpha")
    event = await events.publish(node.federation, may_day(), category="action")
    page = await fetch(event.uri, HTML)
    head = await fetch(event.uri, HTML, method="HEAD")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == page.headers["etag"]
    assert head.headers["content-length"] == str(len(page.content))
    same = await fetch(event.uri, {**HTML, "If-None-Match": page.headers["etag"]})
    assert same.status_code == 304 and same.content == b""
    assert "content-length" not in same.headers
    assert same.headers["etag"] == page.headers["etag"]
    other = await fetch(event.uri, {**HTML, "If-None-Match": '"another"'})
    assert other.status_code == 200 and other.content == page.content
    # The security headers were kept with the answer.
    assert other.headers["x-frame-options"] == "DENY"


async def test_a_stampede_on_a_new_action_gets_one_answer_per_kind(start_node):
    node = await start_node("alpha")
    event = await events.publish(node.federation, may_day(), category="action")
    kinds = [HTML, AS2] * 100
    answers = await asyncio.gather(*(fetch(event.uri, headers) for headers in kinds))
    assert {answer.status_code for answer in answers} == {200}
    paired = list(zip(answers, kinds, strict=True))
    pages = {answer.content for answer, headers in paired if headers is HTML}
    documents = {answer.content for answer, headers in paired if headers is AS2}
    assert len(pages) == 1 and len(documents) == 1
    assert pages != documents


async def test_every_web_process_sees_a_change_made_in_another_process(start_node, tmp_path):
    # Prepared here, then served by `iwsn serve --processes 2`; this test's process writes
    # through its own Node, as the worker or the CLI would: three processes, one data directory.
    beta = await start_node("beta", workers=0)
    await beta.stop()
    event = await events.publish(beta.federation, may_day(), category="action")
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            IWSN, "serve", "--port", str(beta.port), "--processes", "2",
            env={**os.environ, **beta.env}, stdout=output, stderr=output,
        )  # fmt: skip
    connections = [httpx.AsyncClient() for _ in range(16)]
    try:

        async def everywhere(url: str, headers: dict[str, str]) -> list[httpx.Response]:
            # Separate connections, spread over both processes by the kernel; each asks
            # twice, so every process keeps the answer and serves it again.
            first = await asyncio.gather(*(c.get(url, headers=headers) for c in connections))
            again = await asyncio.gather(*(c.get(url, headers=headers) for c in connections))
            return [*first, *again]

        async def all_say(url: str, headers: dict[str, str], words: str) -> bool:
            try:
                answers = await everywhere(url, headers)
            except httpx.HTTPError:  # not listening yet
                return False
            return all(a.status_code == 200 and words in a.text for a in answers)

        try:
            await eventually(lambda: all_say(event.uri, HTML, "May Day march"), expect=True,
                             timeout=60)  # fmt: skip
        except AssertionError as exc:
            raise AssertionError(f"{exc}; iwsn serve said:\n{log.read_text()}") from None
        actor, home = beta.url("/actors/beta"), beta.url("/")
        for url, headers in ((event.uri, AS2), (actor, AS2), (home, HTML)):
            await everywhere(url, headers)  # kept by both processes

        async def shown_at_once(url: str, headers: dict[str, str], words: str) -> None:
            for answer in await everywhere(url, headers):
                assert answer.status_code == 200, url
                assert words in answer.text, (url, words)

        await events.edit(beta.federation, event.uri, may_day(title="May Day march, new route"))
        await shown_at_once(event.uri, HTML, "new route")
        await shown_at_once(event.uri, AS2, "new route")
        await events.cancel(beta.federation, event.uri)
        await shown_at_once(event.uri, HTML, "This event is cancelled.")
        await organizations.update_profile(
            beta.federation, "beta", display_name="Beta Dockers", summary="On strike",
            manually_approves_followers=False,
        )  # fmt: skip
        await shown_at_once(actor, AS2, "Beta Dockers")
        alert = await alerts.raise_alert(
            beta.federation,
            alerts.AlertInput(title="Port workers locked out", text="Gate 3.", country="PT"),
        )
        await shown_at_once(home, HTML, "Port workers locked out")
        await alerts.resolve_alert(beta.federation, alert.uri)
        for answer in await everywhere(home, HTML):
            assert "Port workers locked out" not in answer.text
        await events.delete(beta.federation, event.uri)
        for headers in (HTML, AS2):
            assert {a.status_code for a in await everywhere(event.uri, headers)} == {410}
    finally:
        for connection in connections:
            await connection.aclose()
        process.terminate()
        await process.wait()
