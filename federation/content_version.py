"""A count of committed changes to what a node shows, shared by all of the node's processes.

Web processes keep finished public pages in memory (web/page_cache.py) and must never hand one
out after the data under it changed, whichever process changed it: the web process that took an
admin's edit, another web process, the worker that received an update from another server, the
CLI. Asking the database on every request would cost a round trip, which is what the cache
saves. So each process maps one small file of the data directory (which every process of a node
shares already, for its secret key) into memory: a commit that wrote a table pages are made from
adds one to the count after it commits, and reading the count is a memory read.

A page made while the count was N is served only while the count is still N. A page made from
data read before a commit but stored after it carries the count read before, so it is never
served once the count has moved on.

Tables that only the node's machinery reads (the delivery queue, the inbox queue, heartbeats,
throttles, mail) are named with `not_shown`: their constant writes must not empty the cache.
Every other table counts, so a new table is safe until someone decides otherwise.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from pathlib import Path

FILE_NAME = "content_version"
_COUNT = struct.Struct("<Q")

_not_shown: set[str] = set()


def not_shown(*tables: str) -> None:
    """Writes to these tables change no page, feed or document anyone can fetch."""
    _not_shown.update(tables)


def is_shown(table: str) -> bool:
    return table not in _not_shown


class ContentVersion:
    """The count, from a file of the data directory; without one, a count for this process only
    (a database used by a single process, as in a one-off command or a test)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._local = 0
        self._map: mmap.mmap | None = None
        if path is not None:
            self._mapped()

    def current(self) -> int:
        if self.path is None:
            return self._local
        return int(_COUNT.unpack_from(self._mapped())[0])

    def bump(self) -> None:
        if self.path is None:
            self._local += 1
            return
        counter = self._mapped()
        # Two processes committing at once must both move the count: one at a time.
        descriptor = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            _COUNT.pack_into(counter, 0, _COUNT.unpack_from(counter)[0] + 1)
        finally:
            os.close(descriptor)  # and with it the lock

    def close(self) -> None:
        """Unmaps the file; the count maps it again if used after (a database reopened)."""
        if self._map is not None:
            self._map.close()
            self._map = None

    def _mapped(self) -> mmap.mmap:
        if self._map is None:
            assert self.path is not None
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(descriptor).st_size < _COUNT.size:
                    os.ftruncate(descriptor, _COUNT.size)
                self._map = mmap.mmap(descriptor, _COUNT.size)
            finally:
                os.close(descriptor)  # the mapping keeps the file
        return self._map
