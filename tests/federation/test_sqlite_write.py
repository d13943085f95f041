"""Database.sqlite_write: the inbox's one-trip write transactions on SQLite."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from federation.db import Database


@pytest.fixture
async def database(tmp_path):
    path = tmp_path / "node.sqlite3"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")  # as every node database is
        setup.execute("CREATE TABLE t (x INTEGER UNIQUE)")
    db = Database(f"sqlite+aiosqlite:///{path}")
    yield db, path
    await db.dispose()


def rows(path):
    with sqlite3.connect(path) as reader:
        return [x for (x,) in reader.execute("SELECT x FROM t ORDER BY x")]


async def test_waits_for_the_lock_another_process_holds(database):
    db, path = database
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    write = asyncio.create_task(db.sqlite_write(lambda c: c.execute("INSERT INTO t VALUES (2)")))
    await asyncio.sleep(0.3)
    assert not write.done(), "the write should wait for the lock, not fail"
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(write, 10)
    assert rows(path) == [1, 2]


async def test_a_failing_batch_is_rolled_back_and_the_next_one_commits(database):
    db, path = database

    def half_then_fail(connection):
        connection.execute("INSERT INTO t VALUES (1)")
        connection.execute("INSERT INTO t VALUES (1)")  # violates UNIQUE

    with pytest.raises(sqlite3.IntegrityError):
        await db.sqlite_write(half_then_fail)
    assert rows(path) == []
    await db.sqlite_write(lambda c: c.execute("INSERT INTO t VALUES (3)"))
    assert rows(path) == [3]


async def test_refused_on_postgresql():
    db = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    with pytest.raises(RuntimeError, match="not SQLite"):
        await db.sqlite_write(lambda c: None)
    await db.dispose()
