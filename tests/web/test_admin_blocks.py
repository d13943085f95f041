"""The admin page for blocks, over real HTTP: add with a reason, see it listed, lift it."""

from __future__ import annotations

from test_admin import csrf_from
from test_admin_events import logged_in

from federation import blocks


async def test_blocks_are_added_and_lifted_on_the_admin_page(start_node):
    node = await start_node("alpha")
    async with logged_in(node) as http:
        assert 'href="/admin/blocks"' in (await http.get("/admin")).text
        page = await http.get("/admin/blocks")
        assert "Nothing is blocked." in page.text
        csrf = csrf_from(page.text)
        forged = await http.post("/admin/blocks/new", data={"target": "spam.example"})
        assert forged.status_code == 403
        added = await http.post(
            "/admin/blocks/new",
            data={"csrf_token": csrf, "target": "https://Spam.Example/", "reason": "floods"},
        )
        assert added.status_code == 303
        page = await http.get("/admin/blocks")
        assert "Blocked: spam.example." in page.text and "<code>spam.example</code>" in page.text
        assert "floods" in page.text
        assert node.federation.blocks.server_blocked("news.spam.example")

        wrong = await http.post(
            "/admin/blocks/new", data={"csrf_token": csrf, "target": "not a server"}
        )
        assert wrong.status_code == 400
        assert "This is not a server name like example.org" in wrong.text
        assert 'value="not a server"' in wrong.text
        german = await http.post(
            "/admin/blocks/new?lang=de", data={"csrf_token": csrf, "target": "not a server"}
        )
        assert "Das ist kein Servername" in german.text
        await http.get("/admin/blocks?lang=en")  # back to English for what follows

        async with node.db.read() as session:
            (row,) = await blocks.every(session)
        lifted = await http.post(f"/admin/blocks/{row.id}/remove", data={"csrf_token": csrf})
        assert lifted.status_code == 303
        assert "No longer blocked: spam.example." in (await http.get("/admin/blocks")).text
        assert not node.federation.blocks.server_blocked("news.spam.example")
        again = await http.post(f"/admin/blocks/{row.id}/remove", data={"csrf_token": csrf})
        assert again.status_code == 404
