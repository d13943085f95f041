"""Only http(s) URLs from other servers become links: a reply cannot put a script in our page.

A real stand-in Mastodon on loopback signs each hostile delivery; the event page is read back
over HTTP and every href on it is checked.
"""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import pytest
from remote_servers import RemoteServer
from sqlalchemy import select
from support import eventually

from actors import events
from actors.models import Reply
from actors.urls import http_url

HREF = re.compile(r'href="([^"]*)"')


def hrefs(page: str) -> list[str]:
    return HREF.findall(page)


def unsafe(links: list[str]) -> list[str]:
    """Links that are neither on this site (path, fragment, query) nor http(s) nor mailto."""
    return [
        link
        for link in links
        if not (link.startswith(("/", "#", "?", "mailto:")) or http_url(link.replace("&amp;", "&")))
    ]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.domain)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "javascript://127.0.0.1/%0aalert(1)",
        "httpjavascript://127.0.0.1/x",
        "java\tscript:alert(1)",
        " javascript:alert(1)",
        "http://\nexample.org/",
        "https://example.org/\x00",
        "https:example.org",
        "https:///path-only",
        "http://[::1/",
        "http://example.org:notaport/",
        "//example.org/",
        "/relative",
        "",
        None,
        42,
        "https://example.org/" + "a" * 2048,
    ],
)
def test_what_is_not_an_http_link_is_refused(url):
    assert http_url(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://mastodon.example/@rosa/1",
        "http://127.0.0.1:8000/actions/1?x=1#y",
        "HTTPS://Example.org/",
        "https://exämple.org/grève",
        "http://[::1]:8000/",
    ],
)
def test_http_links_are_kept_as_written(url):
    assert http_url(url) == url


@pytest.fixture
async def action_and_mastodon(start_node):
    node = await start_node("union")
    action = await events.publish(
        node.federation,
        events.EventInput(
            title="Picket at the port",
            kind="picket",
            starts=datetime(2027, 5, 1, 6, 0),
            ends=datetime(2027, 5, 1, 9, 0),
            timezone="Europe/Lisbon",
            place_name="Gate 3",
            city="Lisboa",
        ),
        category="action",
    )
    mastodon = RemoteServer("mastodon.example", node.base_url)
    await mastodon.start()
    mastodon.serve_document("mastodon_actor.json")
    yield node, action, mastodon
    await mastodon.stop()


def hostile_reply(mastodon: RemoteServer, action, number: int, **note_fields) -> dict:
    reply = mastodon.fixture("mastodon_note_reply.json", ACTION_ID=action.uri.rsplit("/", 1)[1])
    reply["id"] = f"{mastodon.base}/users/rosa/statuses/{number}/activity"
    reply["object"]["id"] = f"{mastodon.base}/users/rosa/statuses/{number}"
    reply["object"]["inReplyTo"] = action.uri
    reply["object"].update(note_fields)
    return reply


async def replies(node) -> list[Reply]:
    async with node.db.read() as session:
        return list((await session.execute(select(Reply).order_by(Reply.id))).scalars().all())


async def test_a_reply_whose_link_is_a_script_shows_no_script_link(action_and_mastodon):
    node, action, mastodon = action_and_mastodon
    for number, url in enumerate(
        ["javascript:alert(document.domain)", "data:text/html,<script>alert(1)</script>"], 1
    ):
        answer = await mastodon.deliver(
            node.url("/inbox"), hostile_reply(mastodon, action, number, url=url)
        )
        assert answer.status_code == 202, answer.text

    stored = await eventually(lambda: _count(node, 2))
    # The reply stays (its text is fine); its link is its own http(s) id instead.
    assert [reply.url for reply in stored] == [reply.uri for reply in stored]
    async with httpx.AsyncClient() as http:
        page = (await http.get(action.uri)).text
    assert "The whole night shift will be there!" in page
    assert unsafe(hrefs(page)) == []
    assert "javascript:" not in page and "data:text/html" not in page


async def test_an_id_that_is_not_http_is_refused_at_the_inbox(action_and_mastodon):
    node, action, mastodon = action_and_mastodon
    # Its host is the sender's, so it passes the origin check; the scheme must still be http(s).
    note_id = f"javascript://127.0.0.1:{mastodon.port}/%0aalert(1)"
    reply = hostile_reply(mastodon, action, 1, id=note_id, url=note_id)
    answer = await mastodon.deliver(node.url("/inbox"), reply)
    assert answer.status_code == 422, answer.text
    assert "http(s)" in answer.json()["error"]

    reply = hostile_reply(mastodon, action, 2)
    reply["id"] = f"httpjavascript://127.0.0.1:{mastodon.port}/activity/2"
    answer = await mastodon.deliver(node.url("/inbox"), reply)
    assert answer.status_code == 422, answer.text

    assert await replies(node) == []


async def test_a_script_link_stored_before_is_not_shown_as_a_link(action_and_mastodon):
    """Rows written before the check (or by a path that forgot it) are still not links."""
    node, action, mastodon = action_and_mastodon
    answer = await mastodon.deliver(node.url("/inbox"), hostile_reply(mastodon, action, 1))
    assert answer.status_code == 202, answer.text
    (reply,) = await eventually(lambda: _count(node, 1))
    async with node.db.transaction() as session:
        row = await session.get(Reply, reply.id)
        row.url = "javascript:alert(document.domain)"
        row.uri = "javascript://127.0.0.1/%0aalert(1)"
    async with httpx.AsyncClient() as http:
        page = (await http.get(action.uri)).text
    assert reply.author_name in page
    assert unsafe(hrefs(page)) == []


async def _count(node, expected: int) -> list[Reply] | None:
    found = await replies(node)
    return found if len(found) == expected else None
