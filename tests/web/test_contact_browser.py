"""The contact form and the admin inbox in a real Chromium: axe-core finds nothing on them
(English and Spanish, desktop and a 360 px phone), and a visitor on a phone without
JavaScript writes in Spanish, fixes what the form says is wrong, and reaches the admins."""

from __future__ import annotations

import asyncio
import json

from playwright.async_api import async_playwright
from sqlalchemy import select
from test_accessibility import ARGS, AXE, CHROMIUM, SHOTS, violations
from test_admin import PASSWORD, setup_admin
from test_contact import count

from actors.mail.models import OutgoingMail
from actors.models import ContactMessage
from web.form_guard import MIN_SECONDS


async def log_in(page, node) -> None:
    await page.goto(node.url("/admin/login?lang=en"))
    await page.get_by_label("Username").fill("admin")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(node.url("/admin"))


async def test_a_visitor_on_a_phone_without_javascript_writes_in_spanish(start_node):
    node = await start_node("workers")
    await setup_admin(node)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 360, "height": 740},
                is_mobile=True,
                java_script_enabled=False,
                locale="es",
            )
            page = await context.new_page()
            await page.goto(node.url("/"))
            await page.locator("main").get_by_role("link", name="Contacto").click()
            await page.wait_for_url(node.url("/contact"))
            await page.get_by_label("Tu nombre").fill("Lucía Pérez")
            await page.get_by_label("Tu dirección de correo").fill("lucia en sindicato")
            await page.get_by_label("¿De qué trata?").select_option("press")
            await page.get_by_label("Tu mensaje").fill("Somos de una radio comunitaria.")
            # A person takes a few seconds over a form; the node refuses one sent faster.
            await asyncio.sleep(MIN_SECONDS + 0.5)
            await page.get_by_role("button", name="Enviar").click()
            await page.wait_for_load_state()
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "60-contact-refused-phone.png"), full_page=True)
            assert await page.evaluate("document.documentElement.scrollWidth") <= 360
            assert "no parece correcta" in await page.locator("#err-email").inner_text()
            # What was typed is still there.
            assert await page.get_by_label("Tu nombre").input_value() == "Lucía Pérez"
            assert await count(node, ContactMessage) == 0

            await page.get_by_label("Tu dirección de correo").fill("lucia@radio.example")
            await asyncio.sleep(MIN_SECONDS + 0.5)
            await page.get_by_role("button", name="Enviar").click()
            await page.wait_for_url(node.url("/contact/thanks"))
            await page.screenshot(path=str(SHOTS / "61-contact-thanks-phone.png"), full_page=True)
            assert "Gracias" in await page.locator("h1").inner_text()
            assert await page.evaluate("document.documentElement.scrollWidth") <= 360

            async with node.db.read() as session:
                (stored,) = (await session.execute(select(ContactMessage))).scalars()
            assert (stored.language, stored.topic, stored.email) == (
                "es",
                "press",
                "lucia@radio.example",
            )

            # The admin, on the same phone, finds it in the inbox.
            await log_in(page, node)
            assert "1 unread message" in await page.locator("#contact").inner_text()
            await page.get_by_role("link", name="1 unread message").click()
            await page.get_by_role("link", name="Lucía Pérez").click()
            assert "Somos de una radio comunitaria." in await page.locator("main").inner_text()
            await page.get_by_label("Your answer").fill("¡Hola! Os llamamos mañana.")
            await page.get_by_role("button", name="Send answer").click()
            await page.wait_for_load_state()
            assert "not sent: no mail server is set" in await page.locator("main").inner_text()
            assert await page.evaluate("document.documentElement.scrollWidth") <= 360
            assert await count(node, OutgoingMail, OutgoingMail.recipient == stored.email) == 1
        finally:
            await browser.close()


async def test_contact_pages_have_no_axe_violation(start_node):
    assert AXE.exists(), "axe-core is missing: run scripts/test (it installs tests/browser)"
    node = await start_node("workers")
    await setup_admin(node)
    async with node.db.transaction() as session:
        session.add(
            ContactMessage(
                name="Ana",
                email="ana@x.example",
                organization="Union",
                topic="idea",
                message="An idea.\nOn two lines.",
                language="en",
            )
        )
    found: dict[str, list[dict]] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for lang, viewport in (("en", (1024, 768)), ("es", (360, 740))):
                context = await browser.new_context(
                    viewport={"width": viewport[0], "height": viewport[1]},
                    locale=lang,
                    bypass_csp=True,
                )
                page = await context.new_page()
                where = f"({lang}, {viewport[0]}px)"

                response = await page.goto(node.url(f"/contact?lang={lang}"))
                assert response is not None and response.status == 200
                found[f"contact {where}"] = await violations(page)
                # Refused: every field's message beside it.
                await page.locator("main button[type=submit]").click()
                await page.wait_for_load_state()
                assert await page.locator(".field-error").count() >= 3
                found[f"contact refused {where}"] = await violations(page)
                await page.goto(node.url(f"/contact/thanks?lang={lang}"))
                found[f"thanks {where}"] = await violations(page)
                await log_in(page, node)
                for path in ("/admin/contact", "/admin/contact/1", "/admin/mail", "/admin"):
                    response = await page.goto(node.url(f"{path}?lang={lang}"))
                    assert response is not None and response.status == 200, path
                    found[f"{path} {where}"] = await violations(page)
                    if viewport[0] == 360:
                        width = await page.evaluate("document.documentElement.scrollWidth")
                        assert width <= 360, path
                await context.close()
        finally:
            await browser.close()
    found = {name: problems for name, problems in found.items() if problems}
    assert found == {}, json.dumps(found, indent=1)
