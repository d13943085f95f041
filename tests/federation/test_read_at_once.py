"""A read of several statements as one step: on SQLite whole in a reading thread of its own."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from support import create_database, drop_database

from federation import models
from federation.db import Base, Database


async def test_a_read_at_once_runs_whole_where_it_should_and_returns_loaded_rows(tmp_path):
    url = await create_database() or f"sqlite+aiosqlite:///{tmp_path / 'reads.sqlite3'}"
    db = Database(url)
    async with db.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    db.carry_in_sessions(marker="carried")
    async with db.transaction() as session:
        session.add_all(models.Block(kind="server", target=f"{n}.example") for n in range(3))
    loop_thread = threading.current_thread()
    try:

        def read(session: Session) -> tuple[str, str, int, list[models.Block]]:
            count = session.execute(select(func.count(models.Block.id))).scalar_one()
            rows = list(session.execute(select(models.Block).order_by(models.Block.id)).scalars())
            return threading.current_thread().name, session.info["marker"], count, rows

        thread, marker, count, rows = await db.read_at_once(read)
        assert marker == "carried" and count == 3
        # Loaded: usable once the session is gone.
        assert [row.target for row in rows] == ["0.example", "1.example", "2.example"]
        if db.is_sqlite:
            # One trip to a reading thread, not a round trip per statement from the loop.
            assert thread.startswith("sqlite-read") and thread != loop_thread.name
        else:
            assert thread == loop_thread.name

        # Errors come back to the caller as they are.
        def fails(session: Session) -> None:
            session.execute(select(models.Block).where(models.Block.id == 1))
            raise LookupError("no such thing")

        with pytest.raises(LookupError, match="no such thing"):
            await db.read_at_once(fails)
    finally:
        await db.dispose()
        if not url.startswith("sqlite"):
            await drop_database(url)
    # Disposing stops the reading threads.
    assert not [t for t in threading.enumerate() if t.name.startswith("sqlite-read")]
