"""An alert raised with the CLI (its own process) leaves at once: a wake-up, not a poll.

The nodes poll once an hour here, so the alert arrives only because it was announced: by
PostgreSQL NOTIFY with the commit, or on SQLite by a datagram to the node's socket.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from support import eventually
from test_alerts import held, org_follows

IWSN = str(Path(sys.executable).parent / "iwsn")
HOURLY = {"IWSN_POLL_SECONDS": "3600"}


async def iwsn(env: dict[str, str], *args: str) -> str:
    # Not subprocess.run: blocking the loop would freeze the nodes under test.
    process = await asyncio.create_subprocess_exec(
        IWSN,
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


async def test_an_alert_raised_from_the_command_line_goes_out_without_waiting_for_a_poll(
    start_node,
):
    a = await start_node("alpha", env=HOURLY)
    b = await start_node("beta", env=HOURLY)
    await org_follows(a, b)

    # The CLI is its own process: only a wake-up tells B's running worker about the Create.
    uri = await iwsn(
        b.env, "alert", "raise", "--title", "Dock strike", "--text", "Lockout.", "--country", "PT"
    )
    assert uri.startswith(b.url("/alerts/"))
    await eventually(lambda: held(a, uri))
