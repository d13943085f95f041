"""Background processes are seen alive, stopped, or silent, even when no work waits."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from federation import heartbeats
from federation.db import utcnow


async def test_a_beating_process_is_alive_until_it_falls_silent(start_node):
    database = (await start_node("alpha", workers=0)).db
    now = utcnow()
    await heartbeats.beat(database, "host:1", now=now)
    assert [row.name for row in await heartbeats.alive(database, now=now)] == ["host:1"]
    later = now + heartbeats.SILENT_AFTER + timedelta(seconds=1)
    assert list(await heartbeats.alive(database, now=later)) == []
    assert await heartbeats.last_beat(database) == now


async def test_beating_again_renews_the_one_row(start_node):
    database = (await start_node("alpha", workers=0)).db
    now = utcnow()
    await heartbeats.beat(database, "host:1", now=now)
    await heartbeats.beat(database, "host:1", now=now + timedelta(seconds=60))
    rows = await heartbeats.alive(database, now=now + timedelta(seconds=100))
    assert [(row.name, row.started_at) for row in rows] == [("host:1", now)]


async def test_a_clean_stop_is_not_alive_but_is_remembered(start_node):
    database = (await start_node("alpha", workers=0)).db
    stop = asyncio.Event()
    beating = asyncio.create_task(heartbeats.keep_beating(database, stop, name="host:2"))
    while not await heartbeats.alive(database):
        await asyncio.sleep(0.01)
    stop.set()
    await beating
    assert list(await heartbeats.alive(database)) == []
    assert await heartbeats.last_beat(database) is not None


async def test_long_dead_processes_are_pruned(start_node):
    database = (await start_node("alpha", workers=0)).db
    now = utcnow()
    await heartbeats.beat(database, "old:1", now=now - timedelta(days=2))
    await heartbeats.beat(database, "new:1", now=now)
    assert await heartbeats.prune(database, now=now) == 1
    assert [row.name for row in await heartbeats.alive(database, now=now)] == ["new:1"]


async def test_a_node_running_workers_is_seen_alive_and_one_without_is_not(start_node):
    working = await start_node("alpha")
    idle = await start_node("beta", workers=0)
    while not await heartbeats.alive(working.db):  # the first beat is the task's first step
        await asyncio.sleep(0.01)
    assert [row.name for row in await heartbeats.alive(working.db)] == [heartbeats.process_name()]
    assert list(await heartbeats.alive(idle.db)) == []
