"""Fills a database's place table, as a process of its own: `python -m actors.places_load`,
with the database's URL in the environment (`places.LOADER_DATABASE_ENV`).

Started by `places.load_in_background`, so that the seconds and the memory of reading the
data are never a web process's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from actors import places
from federation.content_version import ContentVersion
from federation.db import Database


async def fill(url: str, version_file: str | None = None) -> None:
    version = ContentVersion(Path(version_file)) if version_file else None
    db = Database(url, content_version=version)
    try:
        await places.ready(db)
    finally:
        await db.dispose()


def main() -> int:
    url = os.environ.get(places.LOADER_DATABASE_ENV, "")
    if not url:
        print(f"{places.LOADER_DATABASE_ENV} is not set: which database?", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(fill(url, os.environ.get(places.LOADER_VERSION_ENV)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
