"""Signing on in a real browser (Chromium, no JavaScript, a 360 px phone, in Portuguese), the
count reaching a node that follows; and axe-core on every signature page."""

from __future__ import annotations

import json
import re

import httpx
from playwright.async_api import async_playwright
from sqlalchemy import select
from support import eventually
from test_accessibility import ARGS, AXE, CHROMIUM, SHOTS, violations

from actors import signatures
from actors.models import Signature
from actors.signatures import SignatureInput
from federation import follows
from federation.models import Following
from federation.node import INSTANCE_USERNAME

# web.form_guard refuses a form sent back sooner than this after it was shown: a person's pace.
PERSON = 3100
CONFIRM = re.compile(r"http://\S+/sign/confirm/[A-Za-z0-9_-]+")


async def follow_node(follower, target) -> None:
    async with follower.db.read() as session:
        me = await follower.federation.local_actor_by_username(session, INSTANCE_USERNAME)
    await follows.follow(follower.federation, me, target.url("/actor"))

    async def accepted():
        async with follower.db.read() as session:
            return (
                await session.execute(
                    select(Following.state).where(Following.target_uri == target.url("/actor"))
                )
            ).scalar_one_or_none()

    await eventually(accepted, expect="accepted")


async def test_a_visitor_signs_on_in_portuguese_and_a_following_node_counts_it(
    start_node, smtp_catcher
):
    catcher = smtp_catcher()
    catcher.start()
    a = await start_node(
        "alpha", env={"IWSN_SMTP_URL": catcher.url, "IWSN_MAIL_FROM": "Node <node@iwsn.example>"}
    )
    b = await start_node("beta")
    await follow_node(b, a)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 360, "height": 740},
                is_mobile=True,
                java_script_enabled=False,
                locale="pt-BR",
            )
            page = await context.new_page()
            await page.goto(a.url("/sign"))
            assert await page.locator("h1").inner_text() == "Assine o apelo"
            assert await page.evaluate("document.documentElement.scrollWidth") <= 360
            await page.get_by_label("Seu nome").fill("Maria da Penha")
            await page.wait_for_timeout(PERSON)
            await page.get_by_role("button", name="Assinar").click()
            # Refused, beside the field, what was typed kept.
            await page.wait_for_load_state()
            assert (
                "Indique o seu endereço de e-mail" in await page.locator("#err-email").inner_text()
            )
            assert await page.get_by_label("Seu nome").input_value() == "Maria da Penha"
            await page.get_by_label("E-mail").fill("maria@example.org")
            await page.get_by_label("País").select_option("BR")
            await page.get_by_label("Cidade").fill("Fortaleza")
            await page.get_by_label("Mostrar o meu nome").check()
            await page.wait_for_timeout(PERSON)
            await page.get_by_role("button", name="Assinar").click()
            await page.wait_for_url("**/sign/sent")
            assert "Obrigado" in await page.locator("h1").inner_text()
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "60-signed-phone.png"), full_page=True)

            assert "Consulte o seu e-mail" in await page.locator("main").inner_text()

            async def caught():
                return catcher.to("maria@example.org")

            mail = (await eventually(caught))[0]
            assert mail["Subject"] == "Confirme a sua assinatura do apelo"
            assert mail["Content-Language"] == "pt"
            confirm_url = CONFIRM.search(mail.get_body(("plain",)).get_content()).group(0)
            async with a.db.read() as session:
                signature = (await session.execute(select(Signature))).scalar_one()
            assert signature.language == "pt" and signature.confirmed_at is None
            await page.goto(confirm_url)
            await page.get_by_role("button", name="Sim, assino o apelo").click()
            await page.wait_for_load_state()
            assert "confirmada e contada" in await page.locator("main").inner_text()
            await page.goto(a.url("/signatures"))
            listed = await page.locator("main").inner_text()
            assert "Maria da Penha" in listed and "Brasil" in listed
            assert "maria@example.org" not in await page.content()
        finally:
            await browser.close()

    async def counted_on_b() -> str:
        async with httpx.AsyncClient() as http:
            return (await http.get(b.url("/signatures?lang=pt"))).text

    page_b = await eventually(lambda: _having(counted_on_b, "1 assinatura em 2 nós."), timeout=30)
    assert "maria" not in page_b.lower()


async def _having(read, text: str) -> str | None:
    page = await read()
    return page if text in page else None


async def test_the_signature_pages_have_no_axe_violation(start_node):
    assert AXE.exists(), "axe-core is missing: run scripts/test (it installs tests/browser)"
    node = await start_node("workers")
    union = await signatures.sign(
        node.federation,
        SignatureInput(
            name="Joana",
            email="joana@example.org",
            signer="organization",
            organization_name="Sindicato das Costureiras",
            organization_kind="union",
            website="https://costureiras.example",
            country="PT",
            public=True,
        ),
    )
    assert union.confirm_token
    await signatures.confirm(node.federation, union.confirm_token)
    person = await signatures.sign(
        node.federation,
        SignatureInput(name="Ana", email="ana@example.org", country="BR", public=True),
    )
    assert person.confirm_token
    pages = {
        "sign": "/sign",
        "signatures": "/signatures",
        "sent": "/sign/sent",
        "confirm": f"/sign/confirm/{person.confirm_token}",
        "confirm forged": "/sign/confirm/forged",
        "manage": f"/sign/manage/{union.manage_token}",
    }
    found: dict[str, list[dict]] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for lang, viewport in (("en", (1024, 768)), ("pt", (360, 740))):
                context = await browser.new_context(
                    viewport={"width": viewport[0], "height": viewport[1]},
                    locale=lang,
                    bypass_csp=True,
                )
                page = await context.new_page()
                for name, path in pages.items():
                    response = await page.goto(node.url(f"{path}?lang={lang}"))
                    expected = 404 if name == "confirm forged" else 200
                    assert response is not None and response.status == expected, (name, lang)
                    width = await page.evaluate("document.documentElement.scrollWidth")
                    assert width <= viewport[0], (name, lang, width)
                    if problems := await violations(page):
                        found[f"{name} ({lang})"] = problems
                # A refused form, with its messages beside the fields.
                await page.goto(node.url(f"/sign?lang={lang}"))
                await page.locator("#f-email").fill("not an address")
                await page.wait_for_timeout(PERSON)
                await page.locator("form.sign-form button[type=submit]").click()
                await page.wait_for_load_state()
                assert await page.locator("#err-email").count() == 1
                if problems := await violations(page):
                    found[f"sign refused ({lang})"] = problems
                await context.close()
        finally:
            await browser.close()
    assert found == {}, json.dumps(found, indent=1)
