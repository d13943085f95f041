"""The count of committed changes to shown tables, shared by a node's processes through a file."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import delete, insert, text, update
from support import create_database, drop_database

from federation import models
from federation.content_version import ContentVersion
from federation.db import Base, Database


async def schema_database(tmp_path, version: ContentVersion) -> Database:
    url = await create_database() or f"sqlite+aiosqlite:///{tmp_path / 'count.sqlite3'}"
    db = Database(url, content_version=version)
    async with db.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    return db


async def close(db: Database) -> None:
    url = db.url
    await db.dispose()
    if not url.startswith("sqlite"):
        await drop_database(url)


def test_processes_sharing_the_file_share_the_count(tmp_path):
    path = tmp_path / "content_version"
    here = ContentVersion(path)
    assert here.current() == 0
    here.bump()
    # Another process, as a worker or the CLI would be, moves the same count.
    bump_twice = (
        "import sys; from pathlib import Path;"
        "from federation.content_version import ContentVersion;"
        "v = ContentVersion(Path(sys.argv[1])); v.bump(); v.bump(); print(v.current())"
    )
    printed = subprocess.run(
        [sys.executable, "-c", bump_twice, str(path)], capture_output=True, text=True, check=True
    )
    assert printed.stdout.strip() == "3"
    assert here.current() == 3
    # A count opened later starts where the file is, not at zero.
    assert ContentVersion(path).current() == 3
    here.close()


async def test_commits_to_shown_tables_move_the_count_and_nothing_else_does(tmp_path):
    version = ContentVersion(tmp_path / "content_version")
    db = await schema_database(tmp_path, version)
    try:
        # A row added through the unit of work.
        async with db.transaction() as session:
            session.add(models.Block(kind="server", target="spam.example"))
        assert version.current() == 1
        # Reading, however much, moves nothing.
        async with db.read() as session:
            await session.get(models.Block, 1)
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))
        assert version.current() == 1
        # The machinery's tables: a heartbeat, written every few seconds, moves nothing.
        async with db.transaction() as session:
            session.add(models.WorkerHeartbeat(name="host:1"))
        async with db.transaction() as session:
            await session.execute(update(models.WorkerHeartbeat).values(stopped_at=None))
        assert version.current() == 1
        # Statements without the unit of work: Core insert, bulk update, delete, raw SQL.
        async with db.transaction() as session:
            await session.execute(
                insert(models.Block.__table__).values(kind="server", target="b.example")
            )
        assert version.current() == 2
        async with db.transaction() as session:
            await session.execute(update(models.Block).values(reason="abuse"))
        assert version.current() == 3
        async with db.transaction() as session:
            await session.execute(text("UPDATE blocks SET reason = 'spam'"))
        assert version.current() == 4
        async with db.transaction() as session:
            await session.execute(delete(models.Block).where(models.Block.target == "b.example"))
        assert version.current() == 5
        # Work rolled back changed nothing anyone can see.
        try:
            async with db.transaction() as session:
                session.add(models.Block(kind="server", target="c.example"))
                await session.flush()
                raise LookupError("changed our mind")
        except LookupError:
            pass
        assert version.current() == 5
        # One transaction with many writes moves the count once, after its commit.
        async with db.transaction() as session:
            for n in range(3):
                session.add(models.Block(kind="server", target=f"d{n}.example"))
                await session.flush()
            assert version.current() == 5
        assert version.current() == 6
    finally:
        await close(db)


def test_a_closed_count_maps_its_file_again_when_used(tmp_path):
    version = ContentVersion(tmp_path / "content_version")
    version.bump()
    version.close()  # as a database's dispose does; a node's database may be used after
    version.bump()
    assert version.current() == 2
    assert ContentVersion(tmp_path / "content_version").current() == 2
