"""Schema migrations (Alembic), run by `iwsn db upgrade` and on every start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent
# Any fixed number: web and worker processes starting together take turns upgrading.
ADVISORY_LOCK = 0x1375_2026


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _upgrade_sync(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


async def upgrade(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        await asyncio.to_thread(_upgrade_sync, database_url)
        return
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as lock_connection:
            await lock_connection.execute(text(f"SELECT pg_advisory_lock({ADVISORY_LOCK})"))
            try:
                await asyncio.to_thread(_upgrade_sync, database_url)
            finally:
                await lock_connection.execute(text(f"SELECT pg_advisory_unlock({ADVISORY_LOCK})"))
    finally:
        await engine.dispose()
