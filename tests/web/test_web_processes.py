"""`iwsn serve --processes N`: helpers answer on the same port, hand their inbox work to the
first process, are replaced when they die and stop when the first process is gone."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx
from sqlalchemy import func, select
from support import eventually

from federation import follows
from federation.models import Follower, Following, ReceivedActivity
from federation.signatures import sign_request

IWSN = str(Path(sys.executable).parent / "iwsn")


def helpers_of(pid: int) -> set[int]:
    """Processes started by `pid` through multiprocessing's spawn (not its resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def answers(url: str) -> int | None:
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            return (await client.get(url)).status_code
    except httpx.HTTPError:
        return None


async def count(node, *where):
    async with node.db.read() as session:
        return (await session.execute(select(func.count()).where(*where))).scalar_one()


async def test_three_web_processes_serve_one_node(start_node, tmp_path):
    alpha = await start_node("alpha")
    # Prepared in this process (database, actors), then served by `iwsn serve` on its port.
    beta = await start_node("beta", workers=0)
    await beta.stop()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            IWSN,
            "serve",
            "--port",
            str(beta.port),
            "--processes",
            "3",
            env={**os.environ, **beta.env},
            stdout=output,
            stderr=output,
        )
    try:
        try:
            await eventually(lambda: answers(beta.url("/nodeinfo/2.1")), expect=200, timeout=60)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; iwsn serve said:\n{log.read_text()}") from None
        await eventually(lambda: asyncio.sleep(0, len(helpers_of(process.pid))), expect=2)
        helpers = helpers_of(process.pid)

        async def every_process_answers():
            # A helper takes connections as soon as it binds, before it can answer them: on a
            # loaded machine, one still starting would hold the follow's fetch past its limit.
            statuses = await asyncio.gather(
                *(answers(beta.url("/nodeinfo/2.1")) for _ in range(12))
            )
            return all(status == 200 for status in statuses)

        await eventually(every_process_answers, expect=True, timeout=60)

        # The follow reaches whichever process accepts the connection; the first process
        # handles it and delivers the Accept.
        async with alpha.db.read() as session:
            follower = await alpha.federation.local_actor_by_username(session, "alpha")
        await follows.follow(alpha.federation, follower, beta.url("/actors/beta"))
        await eventually(lambda: count(alpha, Following.state == "accepted"), expect=1, timeout=30)
        assert await count(beta, Follower.actor_uri == follower.uri) == 1

        # A burst over many connections: every activity stored once and handled.
        notes = []
        for n in range(60):
            notes.append(
                {
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": f"{alpha.base_url}/activities/burst-{n}",
                    "type": "Create",
                    "actor": follower.uri,
                    "object": {
                        "id": f"{alpha.base_url}/notes/burst-{n}",
                        "type": "Note",
                        "attributedTo": follower.uri,
                    },
                }
            )
        inbox = beta.url("/inbox")

        async def deliver(activity):
            body = json.dumps(activity).encode()
            headers = sign_request(
                "POST",
                inbox,
                key_id=follower.key_id,
                private_key_pem=follower.private_key_pem,
                body=body,
            )
            # A client each: separate connections, spread over the processes by the kernel.
            async with httpx.AsyncClient() as client:
                return (await client.post(inbox, content=body, headers=headers)).status_code

        assert await asyncio.gather(*(deliver(note) for note in notes)) == [202] * 60
        burst = ReceivedActivity.uri.like(f"{alpha.base_url}/activities/burst-%")
        await eventually(
            lambda: count(beta, burst, ReceivedActivity.state == "done"), expect=60, timeout=30
        )

        # With the first process frozen, the helpers still answer the connections the kernel
        # gives them (each process has its own queue; the kernel spreads connections by
        # address and port, so twelve all landing on the frozen one is a 1 in 500,000 event).
        async def answered(_n):
            try:
                async with httpx.AsyncClient(timeout=3) as client:
                    return (await client.get(beta.url("/nodeinfo/2.1"))).status_code
            except httpx.HTTPError:
                return None

        process.send_signal(signal.SIGSTOP)
        try:
            statuses = await asyncio.gather(*(answered(n) for n in range(12)))
        finally:
            process.send_signal(signal.SIGCONT)
        assert 200 in statuses

        # A helper that dies is replaced.
        victim = min(helpers)
        os.kill(victim, signal.SIGKILL)
        await eventually(
            lambda: asyncio.sleep(0, victim not in helpers_of(process.pid)), expect=True
        )
        await eventually(
            lambda: asyncio.sleep(0, len(helpers_of(process.pid))), expect=2, timeout=30
        )
        assert await answers(beta.url("/nodeinfo/2.1")) == 200
        helpers = helpers_of(process.pid)

        # The first process killed outright: its helpers stop by themselves.
        process.kill()
        await process.wait()
        for pid in helpers:
            await eventually(lambda pid=pid: asyncio.sleep(0, alive(pid)), expect=False)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_processes_must_be_positive(start_node):
    node = await start_node("alpha", workers=0)
    process = await asyncio.create_subprocess_exec(
        IWSN,
        "serve",
        "--processes",
        "0",
        env={**os.environ, **node.env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await process.communicate()
    assert process.returncode != 0
    assert b"--processes must be 1 or more" in err


async def test_a_second_node_on_the_same_port_is_refused(start_node):
    # SO_REUSEPORT lets sockets of one user share a port: a second `iwsn serve` started by
    # mistake on a busy port must fail instead of silently taking part of its connections.
    prepared = await start_node("alpha", workers=0)
    await prepared.stop()

    async def serve():
        return await asyncio.create_subprocess_exec(
            IWSN,
            "serve",
            "--port",
            str(prepared.port),
            "--processes",
            "2",
            env={**os.environ, **prepared.env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    first = await serve()
    try:
        await eventually(lambda: answers(prepared.url("/nodeinfo/2.1")), expect=200, timeout=60)
        second = await serve()
        _out, err = await second.communicate()
        assert second.returncode != 0
        assert f"cannot listen on 127.0.0.1:{prepared.port}".encode() in err
        assert first.returncode is None
    finally:
        first.terminate()
        await first.wait()
