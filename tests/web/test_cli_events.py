"""`iwsn action ...` as an organizer types it, against a node's database."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

IWSN = str(Path(sys.executable).parent / "iwsn")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


async def run(env, *args, check=True) -> Result:
    # Not subprocess.run: blocking the loop would freeze the node under test mid-transaction,
    # and the command would wait on its database lock.
    process = await asyncio.create_subprocess_exec(
        IWSN,
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    result = Result(process.returncode, out.decode(), err.decode())
    if check:
        assert result.returncode == 0, result.stderr
    return result


async def test_action_lifecycle_from_the_command_line(start_node):
    node = await start_node("alpha")
    env = node.env
    created = await run(
        env,
        "action",
        "create",
        "--title",
        "May Day march",
        "--kind",
        "demonstration",
        "--starts",
        "2027-05-01T10:00",
        "--ends",
        "2027-05-01T13:00",
        "--timezone",
        "Europe/Lisbon",
        "--place",
        "Praça do Comércio",
        "--city",
        "Lisboa",
        "--country",
        "PT",
        "--lat",
        "38.7077",
        "--lon",
        "-9.1365",
        "--tag",
        "MayDay",
        "--description",
        "Bring *banners*",
    )
    url = created.stdout.strip()
    assert url.startswith(node.url("/actions/")) and "\n" not in url  # the URL alone

    listed = (await run(env, "action", "list")).stdout
    assert "2027-05-01 10:00 Europe/Lisbon" in listed and "May Day march" in listed

    await run(env, "action", "edit", url, "--title", "May Day march (new route)")
    await run(env, "action", "cancel", url)
    listed = (await run(env, "action", "list")).stdout
    assert "CANCELLED" in listed and "new route" in listed

    bad = await run(
        env,
        "action",
        "create",
        "--title",
        "x",
        "--kind",
        "strike",
        "--starts",
        "2027-05-01T10:00",
        "--ends",
        "2027-05-01T09:00",
        "--timezone",
        "Europe/Lisbon",
        "--city",
        "Lisboa",
        "--place",
        "Port",
        check=False,
    )
    assert bad.returncode == 1
    assert "the end must be after the start" in bad.stderr

    wrong_kind = await run(env, "assembly", "cancel", url, check=False)
    assert wrong_kind.returncode == 1 and "no assembly" in wrong_kind.stderr

    await run(env, "action", "delete", url)
    assert "May Day march" not in (await run(env, "action", "list")).stdout
