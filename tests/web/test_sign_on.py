"""Signing on at /sign: the form, its refusals, the links, the public page."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from sqlalchemy import func, select
from support import eventually

from actors.models import Signature
from web.form_guard import HONEYPOT, STARTED, FormGuard

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
EMAIL = "Rosa.Luxemburg@Example.org"


async def stored(node) -> list[Signature]:
    async with node.db.read() as session:
        return list((await session.execute(select(Signature).order_by(Signature.id))).scalars())


def old_stamp(node) -> str:
    """A form shown a minute ago, as a person would send it."""
    return FormGuard(node.node.settings.secret_key, "sign").token(now=time.time() - 60)


async def form_fields(http: httpx.AsyncClient, node, path: str = "/sign") -> dict[str, str]:
    page = await http.get(node.url(path))
    assert page.status_code == 200
    return {"csrf_token": CSRF.search(page.text).group(1), STARTED: old_stamp(node)}


GOOD = {"name": "Rosa", "email": EMAIL, "signer": "individual", "country": "PT", "city": "Porto"}


LINKS = re.compile(r"https?://\S+/sign/(confirm|manage)/([A-Za-z0-9_-]+)")


def links(mail) -> dict[str, str]:
    """The confirmation and personal links of a caught mail, by kind."""
    text = mail.get_body(("plain",)).get_content()
    return {kind: token for kind, token in LINKS.findall(text)}


async def test_without_mail_the_admin_confirms_by_hand(start_node):
    node = await start_node("union")
    async with httpx.AsyncClient(follow_redirects=False) as http:
        fields = await form_fields(http, node)
        signed = await http.post(node.url("/sign"), data={**fields, **GOOD})
        assert signed.status_code == 303
        sent = await http.get(node.url("/sign/sent"))
        assert "confirm it by hand" in sent.text
    assert [row.confirmed_at for row in await stored(node)] == [None]


async def test_sign_keeps_one_signature_per_address_and_confirms_once(start_node, smtp_catcher):
    catcher = smtp_catcher()
    catcher.start()
    node = await start_node(
        "union", env={"IWSN_SMTP_URL": catcher.url, "IWSN_MAIL_FROM": "Node <node@iwsn.example>"}
    )
    async with httpx.AsyncClient(follow_redirects=False) as http:
        fields = await form_fields(http, node)
        signed = await http.post(node.url("/sign"), data={**fields, **GOOD})
        assert signed.status_code == 303, signed.text
        assert signed.headers["location"] == "/sign/sent"
        sent = await http.get(node.url("/sign/sent"))
        assert "Check your e-mail" in sent.text
        first = (await eventually(lambda: _mails(catcher, 1)))[0]
        assert first["Subject"] == "Confirm your signature of the call"
        assert first["To"] == "rosa.luxemburg@example.org"
        again = {**GOOD, "email": "  rosa.luxemburg@example.ORG ", "name": "Rosa L."}
        assert (await http.post(node.url("/sign"), data={**fields, **again})).status_code == 303
        rows = await stored(node)
        assert [(row.email, row.name, row.confirmed_at) for row in rows] == [
            ("rosa.luxemburg@example.org", "Rosa L.", None)
        ]
        # Unconfirmed: counted nowhere.
        page = await http.get(node.url("/signatures"))
        assert "0 have signed on." in page.text
        assert "rosa" not in page.text.lower()

        # Signing again sent new links: the first mail's no longer work.
        second = (await eventually(lambda: _mails(catcher, 2)))[1]
        confirm_token, manage_token = links(second)["confirm"], links(second)["manage"]
        assert links(first)["confirm"] != confirm_token
        # Only hashes are stored.
        assert confirm_token not in str([vars(row) for row in await stored(node)])
        ask = await http.get(node.url(f"/sign/confirm/{confirm_token}"))
        assert ask.status_code == 200 and "Yes, I sign on" in ask.text
        token = CSRF.search(ask.text).group(1)
        done = await http.post(
            node.url(f"/sign/confirm/{confirm_token}"), data={"csrf_token": token}
        )
        assert "confirmed and counted" in done.text
        twice = await http.post(
            node.url(f"/sign/confirm/{confirm_token}"), data={"csrf_token": token}
        )
        assert twice.status_code == 200 and "already confirmed" in twice.text
        forged = await http.get(node.url("/sign/confirm/not-a-real-token"))
        assert forged.status_code == 404 and "not valid" in forged.text
        page = await http.get(node.url("/signatures"))
        assert "1 has signed on." in page.text
        assert "1 has signed on." in (await http.get(node.url("/"))).text
        # Not chosen for the public list: neither the name nor the address.
        assert "Rosa" not in page.text and "example.org" not in page.text
        assert "Portugal" in page.text  # counted by country

        # Signing again once confirmed changes nothing (anyone can type an address).
        taken = {**GOOD, "name": "Someone else"}
        assert (await http.post(node.url("/sign"), data={**fields, **taken})).status_code == 303
        rows = await stored(node)
        assert [(row.name, row.confirmed_at is not None) for row in rows] == [("Rosa L.", True)]

        # That sent the owner their link only, to change it, then withdraw it: erased.
        third = (await eventually(lambda: _mails(catcher, 3)))[2]
        assert third["Subject"] == "Your signature of the call"
        assert "confirm" not in links(third)
        manage_token = links(third)["manage"]
        manage = await http.get(node.url(f"/sign/manage/{manage_token}"))
        assert manage.status_code == 200 and "Rosa L." in manage.text
        token = CSRF.search(manage.text).group(1)
        changed = await http.post(
            node.url(f"/sign/manage/{manage_token}"),
            data={**GOOD, "csrf_token": token, "name": "Rosa Luxemburg", "public": "on"},
        )
        assert changed.status_code == 303
        page = await http.get(node.url("/signatures"))
        assert "Rosa Luxemburg" in page.text and "example.org" not in page.text
        withdrawn = await http.post(
            node.url(f"/sign/manage/{manage_token}"), data={"csrf_token": token, "withdraw": "1"}
        )
        assert withdrawn.status_code == 200 and "erased" in withdrawn.text
        assert await stored(node) == []
        gone = await http.get(node.url(f"/sign/manage/{manage_token}"))
        assert gone.status_code == 404 and "not valid" in gone.text
        assert "0 have signed on." in (await http.get(node.url("/signatures"))).text


async def _mails(catcher, count: int) -> list:
    caught = catcher.to("rosa.luxemburg@example.org")
    return caught if len(caught) >= count else []


LONG = "x" * 10_000


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"name": ""}, "name", "Please give your name."),
        ({"email": ""}, "email", "Give your e-mail address"),
        ({"email": "not an address"}, "email", "does not look right"),
        ({"email": "a@b.org\r\nBcc: x@y.org"}, "email", "does not look right"),
        ({"name": LONG}, "name", "longer than 200 characters"),
        ({"city": LONG}, "city", "longer than 200 characters"),
        ({"comment": LONG}, "comment", "longer than 2,000 characters"),
        ({"name": "<script>alert(1)</script>"}, "name", "without HTML tags"),
        ({"comment": "hi <img src=x onerror=alert(1)>"}, "comment", "without HTML tags"),
        ({"signer": "robot"}, "signer", "as a person or for an organization"),
        ({"signer": "organization"}, "organization_name", "name of the organization"),
        (
            {"signer": "organization", "organization_name": "U", "organization_kind": "x"},
            "organization_kind",
            "what kind of organization",
        ),
        (
            {
                "signer": "organization",
                "organization_name": "U",
                "organization_kind": "union",
                "organization_website": "javascript:alert(1)",
            },
            "website",
            "https://",
        ),
        ({"country": "Atlantis"}, "country", "two-letter country code"),
    ],
)
async def test_bad_input_comes_back_beside_its_field_and_stores_nothing(
    start_node, changes, field, says
):
    node = await start_node("union")
    async with httpx.AsyncClient(follow_redirects=False) as http:
        fields = await form_fields(http, node)
        answer = await http.post(node.url("/sign"), data={**fields, **GOOD, **changes})
    assert answer.status_code == 400
    assert f'id="err-{field}"' in answer.text
    assert says in answer.text
    assert "<script>alert" not in answer.text
    # What was typed is kept (escaped).
    if "city" not in changes:
        assert 'value="Porto"' in answer.text
    assert await stored(node) == []


async def test_programs_are_refused_and_bursts_limited(start_node):
    node = await start_node("union")
    async with httpx.AsyncClient(follow_redirects=False) as http:
        fields = await form_fields(http, node)
        fast = {**fields, STARTED: FormGuard(node.node.settings.secret_key, "sign").token()}
        answer = await http.post(node.url("/sign"), data={**fast, **GOOD})
        assert answer.status_code == 400 and "very fast" in answer.text
        answer = await http.post(
            node.url("/sign"), data={**fields, **GOOD, HONEYPOT: "http://spam"}
        )
        assert answer.status_code == 400 and "filled in by a program" in answer.text
        answer = await http.post(node.url("/sign"), data={**fields, **GOOD, STARTED: "1.x"})
        assert answer.status_code == 400 and "too old or damaged" in answer.text
        assert await stored(node) == []
        statuses = []
        for number in range(30):
            data = {**fields, **GOOD, "email": f"p{number}@example.org"}
            statuses.append((await http.post(node.url("/sign"), data=data)).status_code)
    # Three refused ones above counted too: 30 an hour from one address.
    assert statuses.count(303) == 27 and statuses[-1] == 429
    async with node.db.read() as session:
        assert (await session.execute(select(func.count(Signature.id)))).scalar_one() == 27
