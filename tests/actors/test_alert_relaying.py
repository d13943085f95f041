"""What an admin decides about received alerts: relaying off, origins blocked; real nodes."""

from __future__ import annotations

import feedparser
import httpx
from support import eventually
from test_alerts import held, org_follows, quiet, relays, strike

from actors import alert_relaying, alerts
from federation import blocks


async def test_with_relaying_off_a_node_holds_the_alert_but_does_not_pass_it_on(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    c = await start_node("gamma")
    await org_follows(a, b)
    await org_follows(b, c)
    await alert_relaying.configure_relaying(b.db, relay=False)

    alert = await alerts.raise_alert(c.federation, strike())
    await eventually(lambda: held(b, alert.uri))
    await eventually(lambda: quiet([a, b, c]))
    assert await relays(b, alert.uri) == 0
    assert await held(a, alert.uri) is None
    at_b = await held(b, alert.uri)
    assert at_b.hops == 1  # stored and shown at B, in its feed too
    async with httpx.AsyncClient() as http:
        feed = feedparser.parse((await http.get(b.url("/alerts.atom"))).content)
    assert feed.bozo == 0
    assert [(e.id, e.link) for e in feed.entries] == [
        (alert.uri, b.url(f"/alerts/remote/{at_b.id}"))
    ]

    # Turned back on: the next version is passed on.
    await alert_relaying.configure_relaying(b.db, relay=True)
    await alerts.update(c.federation, alert.uri, strike(title="Strike attacked again"))
    await eventually(lambda: held(a, alert.uri))
    await eventually(lambda: quiet([a, b, c]))
    assert await relays(b, alert.uri) == 1
    assert (await held(a, alert.uri)).title == "Strike attacked again"


async def test_alerts_from_a_blocked_origin_are_neither_stored_nor_relayed(start_node):
    a = await start_node("alpha")
    b = await start_node("beta")
    c = await start_node("gamma")
    d = await start_node("delta")
    await org_follows(a, b)
    await org_follows(b, c)
    await org_follows(b, d)
    await alert_relaying.block(b.federation, c.federation.own_host)

    blocked = await alerts.raise_alert(c.federation, strike())
    allowed = await alerts.raise_alert(d.federation, strike(title="Dockers locked out"))
    await eventually(lambda: held(a, allowed.uri))
    await eventually(lambda: quiet([a, b, c, d]))
    assert await held(b, blocked.uri) is None
    assert await held(a, blocked.uri) is None
    assert await relays(b, blocked.uri) == 0
    assert await relays(b, allowed.uri) == 1

    # Unblocked: the next version arrives.
    await alert_relaying.unblock(b.federation, c.federation.own_host)
    await alerts.update(c.federation, blocked.uri, strike(title="Strike attacked again"))
    await eventually(lambda: held(a, blocked.uri))


def test_blocked_hosts_are_read_as_people_type_them():
    assert [
        blocks.parse_server(text)
        for text in ("  Example.ORG ", "https://x.example/a", "other.example.", "h.example:8443")
    ] == ["example.org", "x.example", "other.example", "h.example:8443"]
    for wrong in ("not a host", "a..b", "-x.org", ""):
        try:
            blocks.parse_server(wrong)
        except blocks.BlockError as exc:
            assert "is not a server name" in str(exc)
        else:
            raise AssertionError(wrong)
