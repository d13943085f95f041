"""The admin's signatures: list, search, confirm or remove by hand, CSV, join requests; the CLI."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from support import run_iwsn
from test_admin import PASSWORD, client, csrf_from, login, setup_admin

from actors import signatures
from actors.models import Organization, Signature
from actors.signatures import SignatureInput


async def test_admin_confirms_removes_exports_and_creates_a_joining_organization(start_node):
    node = await start_node("union")
    await setup_admin(node)
    person = await signatures.sign(
        node.federation,
        SignatureInput(
            name="Bia", email="bia@example.org", country="BR", comment="=cmd|' /C calc'!A0"
        ),
    )
    union = await signatures.sign(
        node.federation,
        SignatureInput(
            name="Joana",
            email="joana@example.org",
            signer="organization",
            organization_name="Sindicato das Costureiras",
            organization_kind="union",
            wants_membership=True,
            public=True,
        ),
    )
    async with client(node) as http:
        assert (await http.get("/admin/signatures")).status_code == 303  # login first
        await login(http, "admin", PASSWORD)
        page = await http.get("/admin/signatures")
        assert "bia@example.org" in page.text and "asks to join the network" in page.text
        assert "Confirmed: 0. Waiting for confirmation: 2." in page.text
        found = await http.get("/admin/signatures", params={"q": "COSTUREIRAS"})
        assert "joana@example.org" in found.text and "bia@example.org" not in found.text
        joining = await http.get("/admin/signatures", params={"state": "join"})
        assert "joana@example.org" in joining.text and "bia@example.org" not in joining.text
        token = csrf_from(page.text)
        for signed in (person, union):
            answer = await http.post(
                f"/admin/signatures/{signed.signature_id}/confirm", data={"csrf_token": token}
            )
            assert answer.status_code == 303
        exported = await http.get("/admin/signatures.csv")
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(exported.text)))
        assert [row["email"] for row in table] == ["bia@example.org", "joana@example.org"]
        assert table[0]["comment"].startswith("'=")  # not a formula in a spreadsheet

        bad = await http.post(
            f"/admin/signatures/{union.signature_id}/organization",
            data={"csrf_token": token, "handle": "Not A Handle!"},
        )
        assert bad.status_code == 400 and "Invalid organization handle" in bad.text
        made = await http.post(
            f"/admin/signatures/{union.signature_id}/organization",
            data={"csrf_token": token, "handle": "costureiras"},
        )
        assert made.status_code == 303
        async with node.db.read() as session:
            org = (
                await session.execute(
                    select(Organization).where(Organization.name == "costureiras")
                )
            ).scalar_one()
        assert org.display_name == "Sindicato das Costureiras"

        counted = await run_iwsn(node.env, "signatures", "count")
        assert "confirmed\t2" in counted.stdout
        listed = await run_iwsn(node.env, "signatures", "list", "--state", "join")
        assert "joana@example.org" in listed.stdout and "bia@" not in listed.stdout
        exported_cli = await run_iwsn(node.env, "signatures", "export")
        assert exported_cli.stdout == exported.text

        answer = await http.post(
            f"/admin/signatures/{person.signature_id}/remove", data={"csrf_token": token}
        )
        assert answer.status_code == 303
        async with node.db.read() as session:
            emails = (await session.execute(select(Signature.email))).scalars().all()
        assert emails == ["joana@example.org"]
        assert (
            await http.post("/admin/signatures/999/remove", data={"csrf_token": token})
        ).status_code == 404
    removed = await run_iwsn(node.env, "signatures", "remove", str(union.signature_id))
    assert removed.returncode == 0
    assert "confirmed\t0" in (await run_iwsn(node.env, "signatures", "count")).stdout
    missing = await run_iwsn(node.env, "signatures", "confirm", "999", check=False)
    assert missing.returncode == 1 and "No such signature" in missing.stderr
