"""Reports from the struggle over real HTTP: a report published on A reaches B, which follows
A's organization, and B shows it with its origin; an edit and a delete follow it there. The
`Article` is checked against the ActivityStreams vocabulary (no JSON-LD processor is among our
dependencies: every term must be an AS2 term or one our context defines), and bad input is
refused with the field it concerns, storing nothing."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from sqlalchemy import func, select
from support import eventually
from test_solidarity_days import node_follows

from actors import events, reports
from actors.errors import Message, ValidationError
from actors.models import Report
from federation.as2 import PUBLIC, parse_datetime
from federation.models import OutboxActivity

AS2 = {"Accept": "application/activity+json"}

# The ActivityStreams 2.0 vocabulary (https://www.w3.org/TR/activitystreams-vocabulary/):
# the properties an Object, a Link and a Tombstone may carry, and the types used here.
AS2_PROPERTIES = {
    "id", "type", "attachment", "attributedTo", "audience", "content", "contentMap", "context",
    "name", "nameMap", "endTime", "generator", "icon", "image", "inReplyTo", "location",
    "preview", "published", "replies", "startTime", "summary", "summaryMap", "tag", "updated",
    "url", "to", "bto", "cc", "bcc", "mediaType", "duration", "href", "formerType", "deleted",
    "actor", "object", "target", "result", "origin", "instrument",
}  # fmt: skip
AS2_TYPES = {"Article", "Tombstone", "Create", "Update", "Delete", "Link", "Mention"}


def report_input(**changes) -> reports.ReportInput:
    values = dict(
        title="Lessons of the Setúbal dock strike",
        summary="Forty days out, and what held us together.",
        body="# Day one\n\nWe stopped the cranes at **dawn**.\n\n- pickets\n- a strike fund",
        language="es",
        tags=["#DockStrike", "Organizing"],
    )
    values.update(changes)
    return reports.ReportInput(**values)


def defined_terms(context) -> set[str]:
    terms: set[str] = set()
    for part in context if isinstance(context, list) else [context]:
        if isinstance(part, dict):
            terms |= set(part)
    return terms


def assert_as2_shape(document, terms: set[str]) -> None:
    """Every key a term of AS2 or of our context; every type an AS2 type or ours."""
    for key, value in document.items():
        if key == "@context":
            continue
        assert key in AS2_PROPERTIES or key in terms, f"{key} is neither AS2 nor in our context"
        if key == "type":
            assert value in AS2_TYPES or value in terms, value
        for inner in value if isinstance(value, list) else [value]:
            if isinstance(inner, dict) and key not in ("contentMap", "nameMap", "summaryMap"):
                assert_as2_shape(inner, terms)


async def held(node, uri):
    async with node.db.read() as session:
        return await reports.by_uri(session, uri)


async def report_count(node) -> int:
    async with node.db.read() as session:
        return (await session.execute(select(func.count(Report.id)))).scalar_one()


async def test_a_report_reaches_a_follower_and_its_edit_and_delete_follow(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    await node_follows(b, a.url("/actors/alpha"))
    strike = await events.publish(
        a.federation,
        events.EventInput(
            title="Dock strike picket",
            kind="picket",
            starts=datetime(2027, 5, 1, 6, 0),
            ends=datetime(2027, 5, 1, 12, 0),
            timezone="Europe/Lisbon",
            place_name="Port gate",
            city="Setúbal",
            country="PT",
        ),
        category="action",
    )

    report = await reports.publish(a.federation, report_input(related=[strike.uri]))
    assert report.uri.startswith(a.url("/reports/"))
    assert report.related == [strike.uri]

    # A serves it as an Article, shaped for Mastodon's conversion (name, summary, url).
    async with httpx.AsyncClient() as http:
        response = await http.get(report.uri, headers=AS2)
    assert response.status_code == 200
    article = response.json()
    assert article["type"] == "Article" and article["id"] == report.uri
    assert article["name"] == "Lessons of the Setúbal dock strike"
    assert article["summary"] == "Forty days out, and what held us together."
    assert article["url"] == report.uri and article["attributedTo"] == a.url("/actors/alpha")
    assert article["to"] == [PUBLIC] and article["cc"] == [a.url("/actors/alpha/followers")]
    assert (
        "<h2>Day one</h2>" in article["content"] and "<strong>dawn</strong>" in article["content"]
    )
    assert article["contentMap"] == {"es": article["content"]}
    assert [tag["name"] for tag in article["tag"]] == ["#DockStrike", "#Organizing"]
    assert article["about"] == [strike.uri]
    assert_as2_shape(article, defined_terms(article["@context"]))

    # B keeps it, with its origin, and shows it.
    copy = await eventually(lambda: held(b, report.uri))
    assert not copy.is_local and copy.origin_host == a.federation.own_host
    assert copy.origin_name == "alpha" or copy.origin_name  # the organization's display name
    assert (copy.title, copy.summary, copy.language) == (
        "Lessons of the Setúbal dock strike",
        "Forty days out, and what held us together.",
        "es",
    )
    assert "<h2>Day one</h2>" in copy.body_html and copy.hashtags == ["DockStrike", "Organizing"]
    async with httpx.AsyncClient() as http:
        listing = (await http.get(b.url("/reports"))).text
        page = await http.get(b.url(f"/reports/remote/{copy.id}"))
        home = (await http.get(b.url("/"))).text
        feed = (await http.get(b.url("/reports.atom"))).text
        tag_b = (await http.get(b.url("/tags/dockstrike"))).text
        organization_a = (await http.get(a.url("/actors/alpha"))).text
    assert "Lessons of the Setúbal dock strike" in listing and a.federation.own_host in listing
    assert page.status_code == 200 and "<h2>Day one</h2>" in page.text
    assert f'href="{report.uri}"' in page.text  # the original, where it lives
    assert "Lessons of the Setúbal dock strike" in home
    assert "<title>Lessons of the Setúbal dock strike</title>" in feed
    # Per tag (on the follower too) and per organization.
    assert "Lessons of the Setúbal dock strike" in tag_b
    assert f'href="{report.uri}"' in organization_a

    # An edit reaches B as an Update with `updated` moved on.
    edited = await reports.edit(
        a.federation, report.uri, report_input(title="Forty days on the docks")
    )
    assert edited.updated_at > edited.published_at

    async def title_on_b():
        found = await held(b, report.uri)
        return found.title if found else None

    await eventually(title_on_b, expect="Forty days on the docks")
    async with httpx.AsyncClient() as http:
        again = (await http.get(report.uri, headers=AS2)).json()
    assert parse_datetime(again["updated"]) > parse_datetime(article["updated"])

    # A delete takes it down on B; A answers 410 with a Tombstone.
    await reports.delete(a.federation, report.uri)

    async def gone_on_b():
        found = await held(b, report.uri)
        return found is not None and found.deleted_at is not None

    await eventually(gone_on_b)
    async with httpx.AsyncClient() as http:
        tombstone = await http.get(report.uri, headers=AS2)
        page_a = await http.get(report.uri)
        page_b = await http.get(b.url(f"/reports/remote/{copy.id}"))
        listing_b = (await http.get(b.url("/reports"))).text
    assert tombstone.status_code == 410
    assert tombstone.json()["type"] == "Tombstone"
    assert tombstone.json()["formerType"] == "Article"
    assert page_a.status_code == 410 and page_b.status_code == 410
    assert "Forty days on the docks" not in listing_b
    async with a.db.read() as session:
        outbox = (
            (
                await session.execute(
                    select(OutboxActivity.activity_type).where(
                        OutboxActivity.object_uri == report.uri
                    )
                )
            )
            .scalars()
            .all()
        )
    assert "Delete" in outbox


BAD = {
    "no title": (dict(title="  "), "title", Message.TITLE_REQUIRED),
    "2 MB body": (dict(body="solidarity " * 200_000), "body", Message.BODY_TOO_LONG),
    "script": (dict(body="Read this <script>alert(1)</script>"), "body", Message.BODY_HAS_SCRIPT),
    "javascript link": (dict(body="[see](javascript:alert(1))"), "body", Message.BODY_HAS_SCRIPT),
    "unknown language": (dict(language="xx"), "language", Message.LANGUAGE_UNKNOWN),
    "unknown related": (
        dict(related=["https://nowhere.example/actions/1"]),
        "related",
        Message.RELATED_UNKNOWN,
    ),
}


@pytest.mark.parametrize("case", BAD)
async def test_bad_input_is_refused_and_stores_nothing(start_node, case):
    node = await start_node("alpha")
    changes, field, message = BAD[case]
    with pytest.raises(ValidationError) as refused:
        await reports.publish(node.federation, report_input(**changes))
    assert refused.value.problems[field].message == message
    assert await report_count(node) == 0
    async with node.db.read() as session:
        sent = (await session.execute(select(func.count(OutboxActivity.id)))).scalar_one()
    assert sent == 0


async def test_a_translation_reaches_a_follower_and_shows_to_a_spanish_reader(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    await node_follows(b, a.url("/actors/alpha"))
    report = await reports.publish(
        a.federation,
        report_input(
            title="The rent strike",
            summary="How we held out.",
            body="We *held out*.",
            language="en",
        ),
    )
    # No translation into the report's own language, nor a broken one: nothing changes.
    for wrong, field in (
        (reports.TranslationInput(language="en", title="Again", body="Again"), "language"),
        (reports.TranslationInput(language="es", title="", body="<script>x()</script>"), "title"),
    ):
        with pytest.raises(ValidationError) as refused:
            await reports.translate(a.federation, report.uri, wrong)
        assert field in refused.value.problems
    assert (await held(a, report.uri)).translations == {}

    await reports.translate(
        a.federation,
        report.uri,
        reports.TranslationInput(
            language="es",
            title="La huelga de alquileres",
            summary="Cómo resistimos.",
            body="*Resistimos*.",
        ),
    )
    async with httpx.AsyncClient() as http:
        article = (await http.get(report.uri, headers=AS2)).json()
    assert list(article["contentMap"]) == ["en", "es"]  # its own language first, for Mastodon
    assert article["nameMap"] == {"en": "The rent strike", "es": "La huelga de alquileres"}
    assert article["summaryMap"]["es"] == "Cómo resistimos."
    assert article["name"] == "The rent strike"

    async def translated_on_b():
        found = await held(b, report.uri)
        return found is not None and "es" in found.translations

    await eventually(translated_on_b)
    copy = await held(b, report.uri)
    assert copy.language == "en" and copy.translations["es"]["title"] == "La huelga de alquileres"
    async with httpx.AsyncClient() as http:
        spanish = (
            await http.get(
                b.url(f"/reports/remote/{copy.id}"), headers={"Accept-Language": "es-ES,es"}
            )
        ).text
        english = (await http.get(b.url(f"/reports/remote/{copy.id}?lang=en"))).text
        chosen = (await http.get(b.url(f"/reports/remote/{copy.id}?lang=en&in=es"))).text
    assert "<h1><bdi>La huelga de alquileres</bdi></h1>" in spanish
    assert "<em>Resistimos</em>" in spanish and 'lang="es"' in spanish
    assert "<h1><bdi>The rent strike</bdi></h1>" in english and "?in=es" in english
    assert "<h1><bdi>La huelga de alquileres</bdi></h1>" in chosen
