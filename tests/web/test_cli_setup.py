"""`iwsn setup`: what a deployment runs once before its web and worker processes start."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from support import IWSN, create_database, drop_database, run_iwsn

from federation import heartbeats
from federation.db import Database


async def production_env(tmp_path: Path, *, places: bool = False) -> dict[str, str]:
    # As docker-compose.yml gives it: https, a bare domain, no development switch.
    env = {k: v for k, v in os.environ.items() if not k.startswith("IWSN_")}
    env.update(
        {
            "IWSN_DOMAIN": "iwsn.example.org",
            "IWSN_DATA_DIR": str(tmp_path / "data"),
            "IWSN_ORG_NAME": "dockers",
            "IWSN_LOG_LEVEL": "warning",
        }
    )
    if not places:
        env["IWSN_PLACES_AT_START"] = "0"  # seconds of work no other test here needs
    database = await create_database()
    if database:
        env["IWSN_DATABASE_URL"] = database
    return env


async def test_setup_creates_the_organization_once_and_prints_the_admin_link(tmp_path):
    env = await production_env(tmp_path, places=True)
    try:
        first = await run_iwsn(env, "setup")
        assert "Created the organization @dockers@iwsn.example.org" in first.stderr
        assert "https://iwsn.example.org/admin/setup/" in first.stderr
        assert "ready" in first.stdout
        # The place table of "near you" too, so that no visitor's search waits for it.
        assert "Filling the list of places" in first.stdout
        # The processes that start next find it all done: nothing is created twice.
        again = await run_iwsn(env, "setup")
        assert "Created the organization" not in again.stderr
        assert "Filling the list of places" not in again.stdout
        near = await run_iwsn(env, "near", "Lisboa")
        assert "Within 50 km of Lisboa (Lisbon)" in near.stdout and "Preparing" not in near.stderr
        listed = await run_iwsn(env, "org", "list")
        assert listed.stdout.count("@dockers@iwsn.example.org") == 1
        assert (tmp_path / "data" / "secret_key").exists()
    finally:
        if "IWSN_DATABASE_URL" in env:
            await drop_database(env["IWSN_DATABASE_URL"])


async def test_doctor_says_what_is_wrong_and_exits_1(tmp_path):
    env = await production_env(tmp_path)
    env["IWSN_DOMAIN"] = "iwsn-doctor.invalid"  # a name no DNS will ever answer
    try:
        await run_iwsn(env, "setup")
        result = await run_iwsn(env, "doctor", check=False)
        assert result.returncode == 1
        assert "ok    database: reachable, schema up to date" in result.stdout
        # Nothing waits in the queues of a new node, yet no worker has ever run.
        assert (
            "FAIL  workers: no process is running the background work (none has run yet)"
            in result.stdout
        ), result.stdout
        assert (
            "FAIL  nodeinfo: https://iwsn-doctor.invalid/.well-known/nodeinfo cannot be reached "
            "from here: the name does not resolve" in result.stdout
        ), result.stdout
        assert "Traceback" not in result.stderr
    finally:
        if "IWSN_DATABASE_URL" in env:
            await drop_database(env["IWSN_DATABASE_URL"])


async def test_doctor_sees_a_worker_run_and_stop_on_an_idle_node(tmp_path):
    env = await production_env(tmp_path)
    env.setdefault("IWSN_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'data' / 'iwsn.sqlite3'}")
    db = Database(env["IWSN_DATABASE_URL"])
    worker = None
    try:
        await run_iwsn(env, "setup")
        worker = await asyncio.create_subprocess_exec(
            IWSN, "worker", env={**os.environ, **env}, stderr=asyncio.subprocess.DEVNULL
        )
        while not await heartbeats.alive(db):
            assert worker.returncode is None, "the worker exited"
            await asyncio.sleep(0.05)
        running = await run_iwsn(env, "doctor", check=False)
        assert f"ok    workers: 1 running ({heartbeats.process_name().split(':')[0]}:" in (
            running.stdout
        ), running.stdout
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 60) == 0
        worker = None
        stopped = await run_iwsn(env, "doctor", check=False)
        assert (
            "FAIL  workers: no process is running the background work (the last one stopped 0 "
            "minutes ago)" in stopped.stdout
        ), stopped.stdout
    finally:
        if worker is not None and worker.returncode is None:
            worker.kill()
            await worker.wait()
        await db.dispose()
        if "IWSN_DATABASE_URL" in env and not env["IWSN_DATABASE_URL"].startswith("sqlite"):
            await drop_database(env["IWSN_DATABASE_URL"])
