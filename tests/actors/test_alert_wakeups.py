"""An alert raised with the CLI (its own process) leaves at once: a wake-up, not a poll.

The nodes poll once an hour here, so the alert arrives only because it was announced: by
PostgreSQL NOTIFY with the commit, or on SQLite by a datagram to the node's socket.
"""

from __future__ import annotations

from support import eventually, run_iwsn
from test_alerts import held, org_follows

HOURLY = {"IWSN_POLL_SECONDS": "3600"}


async def test_an_alert_raised_from_the_command_line_goes_out_without_waiting_for_a_poll(
    start_node,
):
    a = await start_node("alpha", env=HOURLY)
    b = await start_node("beta", env=HOURLY)
    await org_follows(a, b)

    # The CLI is its own process: only a wake-up tells B's running worker about the Create.
    raised = await run_iwsn(
        b.env, "alert", "raise", "--title", "Dock strike", "--text", "Lockout.", "--country", "PT"
    )
    uri = raised.stdout.strip()
    assert uri.startswith(b.url("/alerts/"))
    await eventually(lambda: held(a, uri))
