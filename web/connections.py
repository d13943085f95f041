"""Deadlines for what a client sends: its request's headers, then its body.

uvicorn closes a connection that idles between requests (`timeout_keep_alive`), but not one
that sends nothing at all, half a request line, or headers and body a byte at a time: each such
connection held a socket and its buffers for minutes, and enough of them fill any limit. The
HTTP protocol here is uvicorn's own (httptools where installed, else h11, as uvicorn chooses)
with two timers: a request's headers must be complete within `header_timeout` of its first byte
(or of the connection's opening), and its body within `body_timeout` of the headers. A
connection that misses either is closed. The deadlines do not move as bytes trickle in.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

HEADER_TIMEOUT = 15.0
# Generous: a 1 MB form from a slow phone link. A reverse proxy that buffers bodies (nginx does
# by default) hands them over at once anyway.
BODY_TIMEOUT = 60.0

Stage = Literal["headers", "body"] | None


class _Deadlines:
    """Mixed into uvicorn's protocol class; reads only its `cycle`, `loop` and `transport`."""

    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    _deadline: asyncio.TimerHandle | None = None
    _watched: Stage = None

    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _stage(self) -> Stage:
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return "headers"  # before the first request, or between two
        return "body" if cycle.more_body else None

    def _watch(self) -> None:
        stage = self._stage()
        if stage == self._watched:
            return  # same stage: the deadline set when it began still holds
        self._disarm()
        self._watched = stage
        if stage is not None:
            timeout = self.header_timeout if stage == "headers" else self.body_timeout
            self._deadline = self.loop.call_later(timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self._stage() == self._watched:
            self.transport.close()


def protocol_class(
    header_timeout: float = HEADER_TIMEOUT, body_timeout: float = BODY_TIMEOUT
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol with the deadlines, for `uvicorn.Config(http=...)`."""
    base: type[asyncio.Protocol]
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    except ImportError:  # no httptools: uvicorn's pure-Python h11 protocol
        from uvicorn.protocols.http.h11_impl import H11Protocol

        base = H11Protocol
    return type(
        f"Deadline{base.__name__}",
        (_Deadlines, base),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )
