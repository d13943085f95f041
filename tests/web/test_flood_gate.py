"""A client address the database has refused is refused again by each web process at once, as
the outermost middleware (web/flood_gate.py): no session, no CSRF check, no database. These
tests tell the gate's answer from the form's by posting without a CSRF token: past the gate,
the form would refuse that with a 403; the gate answers 429 before it looks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from support import served
from test_admin import csrf_from
from test_contact import count as count_rows
from test_contact import send_contact
from test_submit import send_plan

from actors.models import ContactMessage, Submission
from federation.db import utcnow
from web.flood_gate import Refusals, refusals
from web.throttle import Throttle

HOUR = 3600.0


def app_of(node):
    return node.server.config.app


async def fill(node, scope: str, address: str, attempts: int, *, ago: float = 60.0) -> datetime:
    """`attempts` posts counted for `address`, `ago` seconds before the moment returned (as if
    the form had taken them then)."""
    throttle = Throttle(node.db, scope, window_seconds=HOUR)
    now = utcnow()
    for _ in range(attempts):
        await throttle.hit(address, now=now - timedelta(seconds=ago))
    return now


def client(node_or_url, source: str = "127.0.0.1", **options) -> httpx.AsyncClient:
    base_url = node_or_url if isinstance(node_or_url, str) else node_or_url.base_url
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=30, **options)


# The remembered refusals, with a clock of the test's own.


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_a_remembered_refusal_ends_when_the_window_ends():
    clock = Clock()
    memory = Refusals(clock=clock)
    memory.remember("submit", "203.0.113.7", moment(clock.now + 90.5))
    assert memory.wait("submit", "203.0.113.7") == 91
    # Per form and per address.
    assert memory.wait("contact", "203.0.113.7") is None
    assert memory.wait("submit", "203.0.113.8") is None
    clock.now += 90
    assert memory.wait("submit", "203.0.113.7") == 1
    clock.now += 0.5
    assert memory.wait("submit", "203.0.113.7") is None
    assert len(memory) == 0  # forgotten, not kept forever


def test_a_refusal_already_over_is_not_remembered():
    clock = Clock()
    memory = Refusals(clock=clock)
    memory.remember("contact", "203.0.113.7", moment(clock.now - 1))
    assert memory.wait("contact", "203.0.113.7") is None


def test_a_flood_from_many_addresses_does_not_grow_the_memory_without_end():
    clock = Clock()
    memory = Refusals(clock=clock, capacity=100)
    memory.remember("submit", "203.0.113.1", moment(clock.now + 10))
    for n in range(1000):
        memory.remember("submit", f"198.51.{n // 256}.{n % 256}", moment(clock.now + 600))
    assert len(memory) <= 100
    # The first ones are forgotten first: the database is asked about them again.
    assert memory.wait("submit", "203.0.113.1") is None
    assert memory.wait("submit", "198.51.3.231") == 600


# Over HTTP.


async def test_a_refused_address_is_refused_before_any_work_in_its_language(start_node):
    node = await start_node("alpha")
    await fill(node, "submit-address", "127.0.0.2", 10)
    async with client(node, "127.0.0.2") as http:
        # The database refuses the first post, and this process remembers it.
        first = await send_plan(http, node, lang="de")
        assert first.status_code == 429
        assert 3400 < int(first.headers["Retry-After"]) <= 3541
        assert "Dein Plan wurde nicht gesendet" in first.text
        german = first.text
        http.cookies.clear()  # the language now comes from each post's Accept-Language
        # Then the gate answers, before the session and the CSRF token are looked at.
        for lang in ("de", "es", "fr", "pt", "en"):
            gated = await http.post(
                "/submit", data={"title": "x"}, headers={"Accept-Language": lang}
            )
            assert gated.status_code == 429, (lang, gated.text)
            assert gated.headers["Content-Language"] == lang
            assert 3400 < int(gated.headers["Retry-After"]) <= 3541
            assert gated.headers["Content-Security-Policy"]
            assert "set-cookie" not in gated.headers
        assert gated.text.count("<form") == 0
        # The page of the gate says what the form's early refusal says.
        gated_de = await http.post("/submit", headers={"Accept-Language": "de"})
        assert _main(gated_de.text) == _main(german)
        # A language asked for in the URL, which the visitor's browser remembers.
        spanish = await http.post("/submit?lang=es")
        assert spanish.status_code == 429
        assert spanish.headers["Content-Language"] == "es"
        assert "Tu plan no se ha enviado" in spanish.text
        assert spanish.cookies.get("lang") == "es"
    assert await count_rows(node, Submission) == 0


def _main(page: str) -> str:
    return page.split("<main>", 1)[1].split("</main>", 1)[0]


async def test_the_contact_form_refuses_early_with_a_short_page(start_node):
    node = await start_node("alpha")
    async with client(node, "127.0.0.3") as http:
        sent = [
            (await send_contact(http, node, lang="fr", email=f"p{n}@x.example")).status_code
            for n in range(5)
        ]
        assert sent == [303] * 5
        refused = await send_contact(http, node, lang="fr", email="p5@x.example")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 3500
        assert refused.headers["Content-Language"] == "fr"
        # The short page, not the whole form again.
        assert 'name="message"' not in refused.text
        assert "Votre message n'a pas été envoyé" in refused.text.replace("&#39;", "'")
        http.cookies.clear()
        gated = await http.post("/contact", headers={"Accept-Language": "pt"})
        assert gated.status_code == 429
        assert gated.headers["Content-Language"] == "pt"
        assert "A sua mensagem não foi enviada" in gated.text
    assert await count_rows(node, ContactMessage) == 5


async def test_an_address_under_its_limit_is_not_affected(start_node):
    node = await start_node("alpha")
    await fill(node, "submit-address", "127.0.0.4", 10)
    await fill(node, "contact-address", "127.0.0.4", 5)
    async with client(node, "127.0.0.4") as flooder:
        assert (await send_plan(flooder, node, lang="en")).status_code == 429
        assert (await send_contact(flooder, node)).status_code == 429
        assert (await flooder.post("/submit")).status_code == 429
        assert (await flooder.post("/contact")).status_code == 429
    # Another address posts as usual, and a missing CSRF token is its own mistake.
    async with client(node, "127.0.0.5") as visitor:
        assert (await send_plan(visitor, node, lang="en")).status_code == 303
        assert (await send_contact(visitor, node)).status_code == 303
        assert (await visitor.post("/submit")).status_code == 403
        assert (await visitor.post("/contact")).status_code == 403
        # The refused address's other pages, and GET of the forms, are not refused.
    async with client(node, "127.0.0.4") as flooder:
        assert (await flooder.get("/submit")).status_code == 200
        assert (await flooder.get("/contact")).status_code == 200
        assert (await flooder.get("/")).status_code == 200
    assert await count_rows(node, Submission) == 1
    assert await count_rows(node, ContactMessage) == 1


async def test_the_gate_lets_the_address_in_again_when_the_window_ends(start_node):
    node = await start_node("alpha")
    clock = Clock()
    app = app_of(node)
    app.state.flood_refusals = Refusals(clock=clock)
    # The database refuses this address until 100 seconds after `now`.
    now = await fill(node, "submit-address", "127.0.0.6", 10, ago=HOUR - 100)
    clock.now = now.timestamp()
    async with client(node, "127.0.0.6") as http:
        assert (await send_plan(http, node, lang="en")).status_code == 429
        assert 0 < refusals(app).wait("submit", "127.0.0.6") <= 100
        assert (await http.post("/submit")).status_code == 429
        clock.now += 99
        assert (await http.post("/submit")).status_code == 429
        clock.now += 2
        # Past the window's end the gate asks nothing of the post: the form sees it (and,
        # without a CSRF token, refuses it as it refuses any such post).
        assert (await http.post("/submit")).status_code == 403
        assert refusals(app).wait("submit", "127.0.0.6") is None


async def test_behind_a_trusted_proxy_the_forwarded_address_is_refused(start_node):
    node = await start_node("alpha", workers=0)
    await fill(node, "contact-address", "203.0.113.9", 5)
    async with served(node.node.settings, trusted_proxies=("127.0.0.1/32",)) as url:
        async with client(url, headers={"X-Forwarded-For": "203.0.113.9"}) as refused:
            assert (await send_contact(refused, node)).status_code == 429
            assert (await refused.post("/contact")).status_code == 429
        # The proxy's other visitors are not refused with it.
        async with client(url, headers={"X-Forwarded-For": "203.0.113.10"}) as other:
            assert (await other.post("/contact")).status_code == 403
            assert (await send_contact(other, node)).status_code == 303
        # Nor is the proxy's own address (which only a visitor it did not name could use).
        async with client(url) as proxy_itself:
            assert (await proxy_itself.post("/contact")).status_code == 403
    assert await count_rows(node, ContactMessage) == 1


async def test_a_page_with_a_csrf_token_is_still_given(start_node):
    # The gate refuses posts only: the form's page (and its token) stays reachable.
    node = await start_node("alpha")
    await fill(node, "submit-address", "127.0.0.7", 10)
    async with client(node, "127.0.0.7") as http:
        assert (await send_plan(http, node, lang="en")).status_code == 429
        page = await http.get("/submit")
        assert page.status_code == 200 and csrf_from(page.text)
