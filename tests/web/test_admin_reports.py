"""Reports from the admin pages and the command line, as an organizer uses them: write, fix
what the form says is wrong, edit, unpublish, publish again, delete; `iwsn report ...`."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from support import eventually, run_iwsn
from test_admin import PASSWORD, client, csrf_from, login

from actors import admins, reports
from actors.models import Report
from federation import follows
from federation.models import Following
from federation.node import INSTANCE_USERNAME

AS2 = {"Accept": "application/activity+json"}


async def count(node) -> int:
    async with node.db.read() as session:
        return (await session.execute(select(func.count(Report.id)))).scalar_one()


def form(token: str, **changes: str) -> dict[str, str]:
    values = {
        "csrf_token": token,
        "title": "What the tenants' union learned",
        "summary": "Three years of rent strikes.",
        "body": "We met every **Tuesday**.",
        "language": "pt",
        "tags": "#Housing #RentStrike",
        "related": "",
    }
    values.update(changes)
    return values


async def test_an_organizer_writes_edits_unpublishes_and_deletes_a_report(start_node):
    node = await start_node("alpha")
    await admins.create_admin(node.db, "organizer", PASSWORD)
    async with client(node) as http:
        assert (await login(http, "organizer", PASSWORD)).status_code == 303
        page = await http.get("/admin/reports/new")
        assert page.status_code == 200
        token = csrf_from(page.text)

        # Every problem at once, beside its field; nothing stored.
        refused = await http.post(
            "/admin/reports/new",
            data=form(token, title="", body="<script>steal()</script>", language="xx"),
        )
        assert refused.status_code == 400
        assert "A title is required." in refused.text
        assert "The report contains code" in refused.text
        assert "“xx” is not a language code" in refused.text
        assert await count(node) == 0

        created = await http.post("/admin/reports/new", data=form(token))
        assert created.status_code == 303
        async with node.db.read() as session:
            report = (await session.execute(select(Report))).scalar_one()
        assert (report.language, report.hashtags) == ("pt", ["Housing", "RentStrike"])
        listing = (await http.get("/admin/reports")).text
        assert "is published" in listing and f"/admin/reports/{report.id}/edit" in listing

        edit = await http.get(f"/admin/reports/{report.id}/edit")
        assert "What the tenants&#39; union learned" in edit.text
        saved = await http.post(
            f"/admin/reports/{report.id}/edit", data=form(token, title="Rent strike lessons")
        )
        assert saved.status_code == 303
        public = await http.get(report.uri)
        assert "Rent strike lessons" in public.text and 'lang="pt"' in public.text

        # Unpublished: gone from the network (410) but kept here; published again, a new id.
        assert (
            await http.post(f"/admin/reports/{report.id}/unpublish", data={"csrf_token": token})
        ).status_code == 303
        assert (await http.get(report.uri, headers=AS2)).status_code == 410
        listing = (await http.get("/admin/reports")).text
        assert "unpublished" in listing and f"/admin/reports/{report.id}/republish" in listing
        assert (
            await http.post(f"/admin/reports/{report.id}/republish", data={"csrf_token": token})
        ).status_code == 303
        async with node.db.read() as session:
            again = (
                await session.execute(select(Report).where(Report.deleted_at.is_(None)))
            ).scalar_one()
        assert again.uri != report.uri and again.title == "Rent strike lessons"
        assert (await http.get(again.uri)).status_code == 200

        assert (
            await http.post(f"/admin/reports/{again.id}/delete", data={"csrf_token": token})
        ).status_code == 303
        assert (await http.get(again.uri)).status_code == 410
        assert "No report published yet" in (await http.get("/admin/reports")).text
        assert "Rent strike lessons" not in (await http.get("/reports")).text


async def test_reports_from_the_command_line(start_node, tmp_path):
    node = await start_node("alpha")
    env = node.env
    body = tmp_path / "report.md"
    body.write_text("# The drive\n\nWe knocked on *every* door.\n", encoding="utf-8")
    published = await run_iwsn(
        env,
        "report", "publish", "--title", "An organizing drive", "--file", str(body),
        "--lang", "es", "--tag", "Organizing", "--tag", "#Warehouse", "--org", "alpha",
    )  # fmt: skip
    url = published.stdout.strip()
    assert url.startswith(node.url("/reports/")) and "\n" not in url
    async with httpx.AsyncClient() as http:
        article = (await http.get(url, headers=AS2)).json()
    assert article["name"] == "An organizing drive" and article["contentMap"].keys() == {"es"}
    assert "<em>every</em>" in article["content"]

    listed = (await run_iwsn(env, "report", "list")).stdout
    assert f"An organizing drive\tes\tlocal\t{url}" in listed

    await run_iwsn(env, "report", "edit", url, "--title", "The warehouse drive")
    async with node.db.read() as session:
        report = await reports.by_uri(session, url)
    assert report.title == "The warehouse drive" and report.language == "es"

    # Bad input: a clear message, exit 1, nothing stored.
    huge = tmp_path / "huge.md"
    huge.write_text("x" * 2_000_000, encoding="utf-8")
    refused = await run_iwsn(
        env, "report", "publish", "--title", "Huge", "--file", str(huge), check=False
    )
    assert refused.returncode == 1
    assert "longer than 100,000 characters" in refused.stderr
    no_title = await run_iwsn(
        env, "report", "publish", "--title", "", "--file", str(body), "--lang", "zz", check=False
    )
    assert no_title.returncode == 1
    assert "A title is required." in no_title.stderr and "“zz”" in no_title.stderr
    missing = await run_iwsn(
        env, "report", "publish", "--title", "T", "--file", str(tmp_path / "nope.md"), check=False
    )
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert await count(node) == 1

    await run_iwsn(env, "report", "delete", url)
    async with httpx.AsyncClient() as http:
        assert (await http.get(url, headers=AS2)).status_code == 410


async def node_follows(follower, target_uri: str) -> None:
    async with follower.db.read() as session:
        me = await follower.federation.local_actor_by_username(session, INSTANCE_USERNAME)
    await follows.follow(follower.federation, me, target_uri)

    async def accepted():
        async with follower.db.read() as session:
            return (
                await session.execute(
                    select(Following.state).where(Following.target_uri == target_uri)
                )
            ).scalar_one_or_none()

    await eventually(accepted, expect="accepted")


def tiny_png() -> bytes:
    """A real 1×1 PNG, written here rather than shipped as a file."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xcc\x22\x22")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def test_a_report_image_with_its_alt_text_reaches_a_follower(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    await node_follows(b, a.url("/actors/alpha"))
    report = await reports.publish(
        a.federation, reports.ReportInput(title="The picket in pictures", body="It held.")
    )
    await admins.create_admin(a.db, "organizer", PASSWORD)
    async with client(a) as http:
        assert (await login(http, "organizer", PASSWORD)).status_code == 303
        edit = await http.get(f"/admin/reports/{report.id}/edit")
        token = csrf_from(edit.text)
        # No alt text: refused beside its field, nothing stored.
        refused = await http.post(
            f"/admin/reports/{report.id}/image",
            data={"csrf_token": token, "alt": " "},
            files={"image": ("picket.png", tiny_png(), "image/png")},
        )
        assert refused.status_code == 400
        assert "alt" in refused.text.lower() and 'aria-invalid="true"' in refused.text
        async with a.db.read() as session:
            assert (await reports.by_uri(session, report.uri)).image_file is None
        saved = await http.post(
            f"/admin/reports/{report.id}/image",
            data={"csrf_token": token, "alt": "Dockers holding a banner at the gate"},
            files={"image": ("picket.png", tiny_png(), "image/png")},
        )
        assert saved.status_code == 303
    async with httpx.AsyncClient() as http:
        article = (await http.get(report.uri, headers=AS2)).json()
        page = (await http.get(report.uri)).text
        image = await http.get(article["image"]["url"])
    assert article["image"]["name"] == "Dockers holding a banner at the gate"
    assert article["attachment"] == [article["image"]]
    assert image.status_code == 200 and image.content == tiny_png()
    assert image.headers["content-type"] == "image/png"
    assert 'alt="Dockers holding a banner at the gate"' in page

    async def image_on_b():
        async with b.db.read() as session:
            found = await reports.by_uri(session, report.uri)
        return found and found.image_url

    assert await eventually(image_on_b) == article["image"]["url"]
    async with b.db.read() as session:
        copy = await reports.by_uri(session, report.uri)
    assert copy.image_alt == "Dockers holding a banner at the gate"
    async with httpx.AsyncClient() as http:
        shown = (await http.get(b.url(f"/reports/remote/{copy.id}"))).text
    # B links the image at its origin, named by its alt text, without loading it.
    assert f'href="{article["image"]["url"]}"' in shown and "<img" not in shown
    assert "Dockers holding a banner at the gate" in shown


async def test_a_translation_from_the_admin_page(start_node):
    node = await start_node("alpha")
    report = await reports.publish(
        node.federation,
        reports.ReportInput(title="The strike fund", body="Every member gave.", language="en"),
    )
    await admins.create_admin(node.db, "organizer", PASSWORD)
    async with client(node) as http:
        assert (await login(http, "organizer", PASSWORD)).status_code == 303
        edit = await http.get(f"/admin/reports/{report.id}/edit")
        token = csrf_from(edit.text)
        refused = await http.post(
            f"/admin/reports/{report.id}/translate",
            data={"csrf_token": token, "t_language": "en", "t_title": "", "t_body": "x"},
        )
        assert refused.status_code == 400
        assert 'href="#f-t_language"' in refused.text and 'href="#f-t_title"' in refused.text
        assert "The report itself is in that language" in refused.text
        saved = await http.post(
            f"/admin/reports/{report.id}/translate",
            data={
                "csrf_token": token,
                "t_language": "pt",
                "t_title": "O fundo de greve",
                "t_summary": "",
                "t_body": "Cada membro contribuiu.",
            },
        )
        assert saved.status_code == 303
        assert "O fundo de greve" in (await http.get(f"/admin/reports/{report.id}/edit")).text
        page = (await http.get(report.uri, headers={"Accept-Language": "pt-PT"})).text
        assert "O fundo de greve" in page and "Cada membro contribuiu." in page
        removed = await http.post(
            f"/admin/reports/{report.id}/translations/pt/delete", data={"csrf_token": token}
        )
        assert removed.status_code == 303
    async with node.db.read() as session:
        assert (await reports.by_uri(session, report.uri)).translations == {}
