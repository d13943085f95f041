"""Replies and boosts from the fediverse under one of our reports: a Mastodon account (a
stand-in server on loopback that signs as Mastodon does) replies, another account answers the
reply, and the thread shows nested under the report; links are http(s) only; an admin hides a
reply and what answers it; boosts are counted until taken back."""

from __future__ import annotations

import copy
import re

import httpx
import pytest
from remote_servers import RemoteServer
from sqlalchemy import func, select
from support import eventually
from test_admin import PASSWORD, client, csrf_from, login

from actors import admins, reports
from actors.models import ReportBoost, ReportReply
from federation.models import Following, InboxState, ReceivedActivity
from federation.node import INSTANCE_USERNAME


@pytest.fixture
async def node_and_mastodon(start_node):
    node = await start_node("union")
    mastodon = RemoteServer("mastodon.example", node.base_url)
    await mastodon.start()
    yield node, mastodon
    await mastodon.stop()


def reply_to(mastodon, target: str, number: int, text: str, actor: str) -> dict:
    """A Mastodon `Create(Note)` answering `target`, as `actor` (a path on that server)."""
    activity = mastodon.fixture("mastodon_note_reply.json", ACTION_ID="x")
    note = activity["object"]
    note_id = f"{mastodon.base}{actor}/statuses/{number}"
    activity.update(id=f"{note_id}/activity", actor=f"{mastodon.base}{actor}")
    note.update(
        id=note_id,
        url=note_id,
        inReplyTo=target,
        attributedTo=f"{mastodon.base}{actor}",
        content=text,
    )
    note.pop("contentMap")
    return activity


async def count(node, model) -> int:
    async with node.db.read() as session:
        return (await session.execute(select(func.count(model.id)))).scalar_one()


async def test_replies_thread_under_a_report_and_can_be_hidden(node_and_mastodon):
    node, mastodon = node_and_mastodon
    mastodon.serve_document("mastodon_actor.json")  # rosa
    mastodon.serve_actor("/users/ana")
    report = await reports.publish(
        node.federation,
        reports.ReportInput(title="After the warehouse strike", body="We *won* the break room."),
    )

    first = reply_to(
        mastodon,
        report.uri,
        1,
        '<p>Congratulations! <a href="mailto:rosa@example.org">write me</a> '
        '<a href="https://union.example/join">join</a></p><script>steal()</script>',
        "/users/rosa",
    )
    assert (await mastodon.deliver(node.url("/inbox"), first)).status_code == 202
    await eventually(lambda: count(node, ReportReply), expect=1)
    answer = reply_to(
        mastodon, first["object"]["id"], 2, "<p>Same here in Porto.</p>", "/users/ana"
    )
    assert (await mastodon.deliver(node.url("/inbox"), answer)).status_code == 202
    await eventually(lambda: count(node, ReportReply), expect=2)
    # A reply to something that is not ours is not kept.
    stray = reply_to(
        mastodon, f"{mastodon.base}/users/ana/statuses/99", 3, "<p>?</p>", "/users/ana"
    )
    assert (await mastodon.deliver(node.url("/inbox"), stray)).status_code == 202

    boost = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{mastodon.base}/users/ana/statuses/4/activity",
        "type": "Announce",
        "actor": f"{mastodon.base}/users/ana",
        "object": report.uri,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    assert (await mastodon.deliver(node.url("/inbox"), boost)).status_code == 202
    await eventually(lambda: count(node, ReportBoost), expect=1)

    async with httpx.AsyncClient() as http:
        page = (await http.get(report.uri)).text
    assert "2 replies" in page and "1 boost" in page
    assert "<script" not in page and "steal()" not in page
    assert "mailto:" not in page and 'href="https://union.example/join"' in page
    # The answer is inside the first reply's list item, one level deeper.
    thread = page[page.index('id="replies"') :]
    assert re.search(r"Congratulations!.*?<ul class=\"thread\">.*?Same here in Porto", thread, re.S)
    assert await count(node, ReportReply) == 2  # the stray one was not kept

    undo = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{mastodon.base}/users/ana/statuses/4/undo",
        "type": "Undo",
        "actor": f"{mastodon.base}/users/ana",
        "object": copy.deepcopy(boost) | {"@context": None},
    }
    undo["object"].pop("@context")
    assert (await mastodon.deliver(node.url("/inbox"), undo)).status_code == 202
    await eventually(lambda: count(node, ReportBoost), expect=0)

    # The organization hides the first reply: it goes, with the answer under it.
    await admins.create_admin(node.db, "organizer", PASSWORD)
    async with client(node) as http:
        assert (await login(http, "organizer", PASSWORD)).status_code == 303
        page = await http.get(report.uri)
        async with node.db.read() as session:
            hidden_id = (
                await session.execute(
                    select(ReportReply.id).where(ReportReply.uri == first["object"]["id"])
                )
            ).scalar_one()
        hidden = await http.post(
            f"/admin/reports/replies/{hidden_id}/hide", data={"csrf_token": csrf_from(page.text)}
        )
        assert hidden.status_code == 303
    async with httpx.AsyncClient() as http:
        page = (await http.get(report.uri)).text
    assert "Congratulations" not in page and "Same here in Porto" not in page
    assert "0 replies" in page and "0 boosts" in page


def article_from(mastodon, number: int, content: str) -> dict:
    actor = f"{mastodon.base}/users/rosa"
    article_id = f"{actor}/articles/{number}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{article_id}/activity/{len(content)}",
        "type": "Create",
        "actor": actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": article_id,
            "type": "Article",
            "name": "Notes from the night shift",
            "summary": "<p>What <b>we</b> saw.</p>",
            "content": content,
            "attributedTo": actor,
            "published": "2027-04-22T07:45:03Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    }


async def test_an_article_is_kept_only_from_a_followed_actor_and_only_so_much(node_and_mastodon):
    node, mastodon = node_and_mastodon
    rosa = mastodon.serve_document("mastodon_actor.json")
    uri = f"{mastodon.base}/users/rosa/articles/1"

    # Not followed: answered, and not kept.
    unasked = article_from(mastodon, 1, "<p>Hello</p>")
    assert (await mastodon.deliver(node.url("/inbox"), unasked)).status_code == 202

    async def handled():
        async with node.db.read() as session:
            return (
                await session.execute(
                    select(ReceivedActivity.state).where(ReceivedActivity.uri == unasked["id"])
                )
            ).scalar_one_or_none()

    await eventually(handled, expect=InboxState.DONE)
    async with node.db.read() as session:
        assert await reports.by_uri(session, uri) is None

    async with node.db.transaction() as session:
        me = await node.federation.local_actor_by_username(session, INSTANCE_USERNAME)
        session.add(
            Following(
                local_actor_id=me.id,
                target_uri=rosa["id"],
                follow_activity_uri=f"{node.base_url}/activities/follow-rosa",
                state="accepted",
            )
        )
    # Followed: kept, sanitized, its body read from at most 200,000 characters of HTML.
    long = "<p>" + "solidarity " * 60_000 + "</p><script>steal()</script>"
    followed = article_from(mastodon, 1, long)
    assert (await mastodon.deliver(node.url("/inbox"), followed)).status_code == 202

    async def kept():
        async with node.db.read() as session:
            return await reports.by_uri(session, uri)

    report = await eventually(kept)
    assert not report.is_local and report.title == "Notes from the night shift"
    assert report.summary == "What we saw."
    assert "<script" not in report.body_html and "steal()" not in report.body_html
    assert len(report.body_html) <= 2 * reports.MAX_BODY + 20  # the cut, and closing tags
    assert report.origin_name == "Rosa"
