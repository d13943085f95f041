"""The node's database pool after PostgreSQL was read-only and is writable again."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from support import PG_URL, create_database, drop_database

from federation.db import Database

# Read-only sessions are PostgreSQL's: this test needs it in the SQLite pass of the suite too,
# at the address CI starts it on.
LOCAL_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def fresh_database() -> str:
    if PG_URL:
        return await create_database()
    admin = await asyncpg.connect(LOCAL_PG.replace("+asyncpg", ""))
    try:
        name = f"iwsn_test_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return LOCAL_PG.rsplit("/", 1)[0] + "/" + name


async def set_read_only(url: str, read_only: bool) -> None:
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(url.rsplit("/", 1)[0].replace("+asyncpg", "") + "/postgres")
    try:
        value = "on" if read_only else "off"
        await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}')
    finally:
        await admin.close()


async def test_connections_opened_while_read_only_are_replaced_once_it_is_writable(tmp_path):
    url = await fresh_database()
    db = Database(url)
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE marks (n integer)"))

        await set_read_only(url, True)
        await db.engine.dispose()  # the pool refills with connections opened read-only

        async def hold_a_connection() -> None:
            async with db.read() as session:
                await session.execute(text("SELECT pg_sleep(0.2)"))

        await asyncio.gather(*(hold_a_connection() for _ in range(4)))
        await set_read_only(url, False)

        async def write(n: int) -> bool:
            try:
                async with db.transaction() as session:
                    await session.execute(text("INSERT INTO marks VALUES (:n)"), {"n": n})
            except DBAPIError as exc:
                assert "read-only" in str(exc)
                return False
            return True

        first = await write(0)  # may meet a read-only connection: it is refused, then recycled
        later = await asyncio.gather(*(write(n) for n in range(1, 5)))
        assert later == [True] * 4, (first, later)
        async with db.read() as session:
            stored = (await session.execute(text("SELECT count(*) FROM marks"))).scalar_one()
        assert stored == 4 + first
    finally:
        await db.dispose()
        await set_read_only(url, False)
        if PG_URL:
            await drop_database(url)
        else:
            admin = await asyncpg.connect(LOCAL_PG.replace("+asyncpg", ""))
            try:
                await admin.execute(
                    f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'
                )
            finally:
                await admin.close()
