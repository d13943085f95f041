"""Messages to signers in a real Chromium: an admin on a 360 px phone without JavaScript writes
one (fixing what the form refuses) and sees its progress; a signer unsubscribes from the link;
axe-core finds nothing on these pages (English and Portuguese, desktop and phone)."""

from __future__ import annotations

import json

from playwright.async_api import async_playwright
from sqlalchemy import func, select
from test_accessibility import ARGS, AXE, CHROMIUM, SHOTS, violations
from test_admin import setup_admin
from test_contact_browser import log_in

from actors import signatures, signer_messages
from actors.mail.models import OutgoingMail
from actors.models import Signature
from actors.signatures import SignatureInput


async def confirmed_signer(node, email: str, language: str):
    signed = await signatures.sign(
        node.federation, SignatureInput(name="Ana", email=email, language=language)
    )
    await signatures.confirm_by_admin(node.federation, signed.signature_id)
    return signed


async def token_of(node, email: str) -> str:
    async with node.db.read() as session:
        return (
            await session.execute(
                select(Signature.unsubscribe_token).where(Signature.email == email)
            )
        ).scalar_one()


async def test_an_admin_on_a_phone_without_javascript_sends_a_message(start_node):
    node = await start_node("workers", workers=0)
    await setup_admin(node)
    await confirmed_signer(node, "ana@example.org", "pt")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 360, "height": 740},
                locale="en",
                java_script_enabled=False,
            )
            page = await context.new_page()
            await log_in(page, node)
            await page.goto(node.url("/admin/signatures"))
            await page.get_by_role("link", name="Send a message to the signers").click()
            await page.wait_for_load_state()
            assert "1 confirmed signer takes messages." in await page.locator("main").inner_text()
            # Sent empty: refused, beside the fields (the browser's own check is bypassed, as
            # a program or an old browser would).
            await page.locator("main form.event-form").evaluate("form => form.noValidate = true")
            await page.get_by_role("button", name="Queue the message to all these signers").click()
            await page.wait_for_load_state()
            assert await page.locator("#err-subject").count() == 1
            assert await page.locator("#err-body").count() == 1
            await page.get_by_label("Subject", exact=True).fill("Assembly on Saturday")
            await page.get_by_label("Text (plain text)").fill("We meet at ten.")
            await page.locator("summary", has_text="a version in Português").click()
            await page.get_by_label("Subject in Português").fill("Assembleia no sábado")
            await page.get_by_label("Text in Português").fill("Reunimo-nos às dez.")
            await page.get_by_label("Mails").fill("30")
            await page.get_by_label("per", exact=True).select_option("hour")
            await page.get_by_role("button", name="Queue the message to all these signers").click()
            await page.wait_for_load_state()
            main = await page.locator("main").inner_text()
            assert "The message is queued." in main
            assert "Sent 0, waiting 1, failed 0, of 1." in main and "30 an hour" in main
            assert await page.evaluate("document.documentElement.scrollWidth") <= 360
            await page.screenshot(path=str(SHOTS / "signer-message-phone.png"), full_page=True)
        finally:
            await browser.close()
    async with node.db.read() as session:
        (mail,) = (await session.execute(select(OutgoingMail))).scalars()
        assert mail.subject == "Assembleia no sábado" and mail.recipient == "ana@example.org"
        assert (await session.execute(select(func.count(OutgoingMail.id)))).scalar_one() == 1


async def test_the_message_pages_have_no_axe_violation(start_node):
    assert AXE.exists(), "axe-core is missing: run scripts/test (it installs tests/browser)"
    node = await start_node("workers", workers=0)
    await setup_admin(node)
    await confirmed_signer(node, "ana@example.org", "pt")
    bia_signed = await confirmed_signer(node, "bia@example.org", "en")
    await signer_messages.send(
        node.db,
        node.node.mail,
        node.node.settings.base_url,
        signer_messages.MessageInput(
            subject="Assembly", body="We meet.\n\nAt ten.", translations={"pt": ("A", "B")}
        ),
    )
    ana, bia = await token_of(node, "ana@example.org"), await token_of(node, "bia@example.org")
    await signer_messages.unsubscribe(node.db, bia)
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
                where = f"({lang}, {viewport[0]}px)"
                pages = {
                    "unsubscribe": (f"/sign/unsubscribe/{ana}", 200),
                    "unsubscribed already": (f"/sign/unsubscribe/{bia}", 200),
                    "unsubscribe forged": ("/sign/unsubscribe/forged", 404),
                    "manage, unsubscribed": (f"/sign/manage/{bia_signed.manage_token}", 200),
                }
                for name, (path, status) in pages.items():
                    response = await page.goto(node.url(f"{path}?lang={lang}"))
                    assert response is not None and response.status == status, name
                    found[f"{name} {where}"] = await violations(page)
                    width = await page.evaluate("document.documentElement.scrollWidth")
                    assert width <= viewport[0], (name, lang, width)
                await log_in(page, node)
                for path in ("/admin/signatures/messages", "/admin/signatures"):
                    response = await page.goto(node.url(f"{path}?lang={lang}"))
                    assert response is not None and response.status == 200, path
                    found[f"{path} {where}"] = await violations(page)
                # Refused, with the messages beside the fields and a summary linking to them.
                await page.goto(node.url(f"/admin/signatures/messages?lang={lang}"))
                await page.locator("main form.event-form").evaluate(
                    "form => form.noValidate = true"
                )
                await page.locator("main form.event-form button[type=submit]").click()
                await page.wait_for_load_state()
                assert await page.locator(".field-error").count() == 2
                found[f"refused {where}"] = await violations(page)
                if viewport[0] == 360:
                    width = await page.evaluate("document.documentElement.scrollWidth")
                    assert width <= 360
                await context.close()
        finally:
            await browser.close()
    assert {name: problems for name, problems in found.items() if problems} == {}, json.dumps(
        found, indent=1
    )
