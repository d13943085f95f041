"""Alembic environment: runs migrations on the async engine the node itself uses."""

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

import actors.mail.models
import actors.models  # noqa: F401  (registers the domain's tables on the metadata)
import federation.models  # noqa: F401
import web.throttle  # noqa: F401  (the login and form throttle's table)
from federation.db import Base

target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        await connection.run_sync(_run)
        return
    engine = create_async_engine(context.config.get_main_option("sqlalchemy.url"))
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `iwsn db upgrade`")
asyncio.run(_main())
