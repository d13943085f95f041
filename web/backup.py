"""`iwsn backup` and `iwsn restore`: a whole node in one file, and back.

A backup is a gzipped tar: `manifest.json` (format, the node's domain, the schema revision,
rows per table), one JSON-lines file per database table, and the files of the data directory
(the session secret; on SQLite the database goes through the tables like on PostgreSQL, never
as a file copied while it is written). The rows are read in one transaction, a consistent
snapshot, so a running node can be backed up. They are written by column name in plain JSON,
which is what lets a backup move between SQLite and PostgreSQL.

Restore fills a new, empty database: it migrates it to the backup's revision, inserts the
rows, then upgrades it to this version's schema, so an older backup restores into newer code.
The organizations' private keys are rows like any other: a backup holds every secret of the
node and must be kept like one.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import tarfile
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import IO, Any

from alembic import command
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, Table, delete, func, inspect, select, text

from federation import content_version
from federation.content_version import ContentVersion
from federation.db import Database
from web import migrate
from web.settings import Settings

FORMAT = 1
BATCH = 500
VERSION_TABLE = "alembic_version"


class BackupError(Exception):
    """A backup that cannot be made or restored, said in words the admin can act on."""


async def backup(settings: Settings, out: IO[bytes]) -> dict[str, int]:
    """Write the node to `out`; returns rows per table."""
    with tempfile.TemporaryDirectory(prefix="iwsn-backup-") as scratch:
        tables, revision = await _dump(settings, Path(scratch))
        manifest = {
            "format": FORMAT,
            "domain": settings.domain,
            "revision": revision,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "tables": tables,
        }
        with tarfile.open(fileobj=out, mode="w|gz") as archive:
            _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=1).encode())
            for name in tables:
                archive.add(Path(scratch) / f"{name}.jsonl", f"database/{name}.jsonl")
            for path in _data_files(settings):
                archive.add(path, f"data/{path.relative_to(settings.data_dir).as_posix()}")
    return tables


async def _dump(settings: Settings, scratch: Path) -> tuple[dict[str, int], str]:
    db = Database(settings.database_url)
    try:
        async with db.read() as session:
            connection = await session.connection()
            if not db.is_sqlite:
                # One snapshot for every table (SQLite's read transaction is one already).
                await connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            metadata = MetaData()
            await connection.run_sync(lambda sync: metadata.reflect(sync))
            revision = await connection.run_sync(current_revision)
            if revision is None:
                raise BackupError("the database has no node in it yet (no schema revision)")
            counts: dict[str, int] = {}
            for table in metadata.sorted_tables:
                if table.name == VERSION_TABLE:
                    continue
                order = list(table.primary_key.columns) or list(table.columns)
                rows = await connection.stream(select(table).order_by(*order))
                count = 0
                with (scratch / f"{table.name}.jsonl").open("w", encoding="utf-8") as lines:
                    async for row in rows.mappings():
                        lines.write(json.dumps(dict(row), default=_encode) + "\n")
                        count += 1
                counts[table.name] = count
            return counts, revision
    finally:
        await db.engine.dispose()
        await db.read_engine.dispose()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot back up a value of type {type(value).__name__}")


def _data_files(settings: Settings) -> Iterator[Path]:
    database_file = _sqlite_file(settings)
    for path in sorted(settings.data_dir.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        # The SQLite database (and its journal) is in the tables already, consistent.
        if database_file is not None and path.name.startswith(database_file.name):
            continue
        # The running processes' count of changes (federation/content_version.py), not data.
        if path.name == content_version.FILE_NAME:
            continue
        yield path


def _sqlite_file(settings: Settings) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    if not settings.database_url.startswith(prefix):
        return None
    return Path(settings.database_url[len(prefix) :]).resolve()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


async def restore(settings: Settings, source: IO[bytes]) -> dict[str, int]:
    """Fill this node's new, empty database and data directory from a backup."""
    with tempfile.TemporaryDirectory(prefix="iwsn-restore-") as scratch:
        root = Path(scratch)
        try:
            with tarfile.open(fileobj=source, mode="r|gz") as archive:
                # The "data" filter refuses absolute paths, "..", links out and device files.
                archive.extractall(root, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"not a readable iwsn backup: {exc}") from None
        manifest = _manifest(root, settings)
        await _check_empty(settings)
        await asyncio.to_thread(_upgrade_to, settings.database_url, manifest["revision"])
        await _load(settings, root, manifest["tables"])
        await migrate.upgrade(settings.database_url)
        _restore_files(root / "data", settings.data_dir)
        # Pages any process of this node made before are of data no longer there.
        version = ContentVersion(settings.data_dir / content_version.FILE_NAME)
        version.bump()
        version.close()
        return manifest["tables"]


def _manifest(root: Path, settings: Settings) -> dict[str, Any]:
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BackupError("not an iwsn backup: it has no manifest.json") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not one this version reads")
    if manifest.get("domain") != settings.domain:
        # Every actor id, key id and follower's record names the domain: it cannot change.
        raise BackupError(
            f"this backup is of {manifest.get('domain')}, but IWSN_DOMAIN is {settings.domain}: "
            "a node keeps its domain for life"
        )
    known = {script.revision for script in migrate_scripts()}
    if manifest.get("revision") not in known:
        raise BackupError(
            f"the backup's schema revision {manifest.get('revision')!r} is newer than this "
            "version of iwsn-node: restore it with the version that made it"
        )
    return manifest


def migrate_scripts() -> list[Any]:
    from alembic.script import ScriptDirectory

    config = migrate.alembic_config("sqlite://")
    return list(ScriptDirectory.from_config(config).walk_revisions())


async def _check_empty(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        async with db.read() as session:
            connection = await session.connection()
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await db.engine.dispose()
        await db.read_engine.dispose()
    if names:
        raise BackupError(
            "the database is not empty: restore needs a new one (create a new, empty database "
            "and point IWSN_DATABASE_URL at it, or drop and recreate this one)"
        )


def _upgrade_to(database_url: str, revision: str) -> None:
    command.upgrade(migrate.alembic_config(database_url), revision)


async def _load(settings: Settings, root: Path, tables: dict[str, int]) -> None:
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            connection = await session.connection()
            metadata = MetaData()
            await connection.run_sync(lambda sync: metadata.reflect(sync))
            ordered = [t for t in metadata.sorted_tables if t.name != VERSION_TABLE]
            missing = set(tables) - {t.name for t in ordered}
            if missing:
                raise BackupError(f"the backup has tables this schema lacks: {sorted(missing)}")
            # Rows a migration seeded are replaced by the backup's own.
            for table in reversed(ordered):
                await connection.execute(delete(table))
            for table in ordered:
                if table.name in tables:
                    await _insert(connection, table, root / "database" / f"{table.name}.jsonl")
            if not db.is_sqlite:
                for table in ordered:
                    await _reset_sequence(connection, table)
    finally:
        await db.engine.dispose()
        await db.read_engine.dispose()


async def _insert(connection: Any, table: Table, path: Path) -> None:
    batch: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            batch.append({name: _decode(table, name, value) for name, value in row.items()})
            if len(batch) >= BATCH:
                await connection.execute(table.insert(), batch)
                batch = []
    if batch:
        await connection.execute(table.insert(), batch)


def _decode(table: Table, name: str, value: Any) -> Any:
    if name not in table.columns:
        raise BackupError(f"the backup has a column {table.name}.{name} this schema lacks")
    if not isinstance(value, str):
        return value
    column_type = table.columns[name].type
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        return value
    if python_type is datetime:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None and getattr(column_type, "timezone", False):
            moment = moment.replace(tzinfo=UTC)  # the node stores UTC everywhere
        return moment
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is bytes:
        return base64.b64decode(value)
    if python_type is Decimal:
        return Decimal(value)
    return value


async def _reset_sequence(connection: Any, table: Table) -> None:
    # Rows came with their ids: the next id a sequence hands out must be past them.
    for column in table.primary_key.columns:
        sequence = await connection.scalar(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": column.name},
        )
        if sequence is None:
            continue
        highest = await connection.scalar(select(func.max(column)))
        await connection.execute(
            text("SELECT setval(:sequence, :value, :called)"),
            {"sequence": sequence, "value": highest or 1, "called": highest is not None},
        )


def _restore_files(source: Path, data_dir: Path) -> None:
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        relative = PurePosixPath(path.relative_to(source).as_posix())
        target = data_dir.joinpath(*relative.parts)
        if path.is_dir():
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
        elif path.is_file():
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
            target.chmod(0o600)
