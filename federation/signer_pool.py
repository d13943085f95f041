"""Delivery signatures made in helper processes, so RSA runs beside the event loop.

An RSA-2048 signature costs about as much as the POST it signs (~0.27 ms), and a fan-out
signs once per inbox. Threads do not help: `cryptography` releases the GIL for the RSA
operation, but each signing thread must take the GIL back to return, and against a busy
event loop thread that hand-off cost as much as the signature saved (measured with
bench/fanout.py: no gain with 1, 2, 4 or 8 threads). A child process has no GIL to share;
the loop only writes the request into a pipe and reads the headers back (~25 µs).

The children are our own (`python -m federation.signer_pool`), started on first use, and exit
when their stdin closes, so they never outlive the node. The private key PEM travels with
each request over that private pipe: the child keeps no state, and a restarted child needs
nothing replayed. A message is a list of byte strings, each preceded by its 4-byte length,
and the whole message by its own: no pickle, so neither end can run the other's code.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import sys
from typing import BinaryIO, cast

from federation.signatures import sign_request

log = logging.getLogger(__name__)

_LENGTH = 4
# After a helper failed to start, sign in-process for this long before trying again, rather
# than forking at every delivery on a host that will not let us.
_RESPAWN_PAUSE = 60.0


class SignerUnavailable(Exception):
    """The helper process could not sign (not started, or gone); sign in-process instead."""


def _frame(*fields: bytes) -> bytes:
    payload = b"".join(len(field).to_bytes(_LENGTH, "big") + field for field in fields)
    return len(payload).to_bytes(_LENGTH, "big") + payload


def _fields(payload: bytes) -> list[bytes]:
    fields, at = [], 0
    while at < len(payload):
        size = int.from_bytes(payload[at : at + _LENGTH], "big")
        fields.append(payload[at + _LENGTH : at + _LENGTH + size])
        at += _LENGTH + size
    return fields


class _Child(asyncio.SubprocessProtocol):
    """The parent's end of one helper: writes requests, resolves futures as answers arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.SubprocessTransport | None = None
        self.stdin: asyncio.WriteTransport | None = None
        self.pending: dict[int, asyncio.Future[dict[str, str]]] = {}
        self.alive = True
        self.exited = asyncio.Event()
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Duck-typed: uvloop's transports are not subclasses of asyncio's.
        self.transport = cast(asyncio.SubprocessTransport, transport)
        self.stdin = cast(asyncio.WriteTransport, self.transport.get_pipe_transport(0))

    def send(self, request_id: int, request: list[bytes]) -> asyncio.Future[dict[str, str]]:
        if not self.alive or self.stdin is None or self.stdin.is_closing():
            raise SignerUnavailable("signing process is not running")
        future = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        self.stdin.write(_frame(str(request_id).encode(), *request))
        return future

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            log.warning("signing process: %s", data.decode("utf-8", "replace").rstrip())
            return
        self._buffer += data
        while len(self._buffer) >= _LENGTH:
            size = int.from_bytes(self._buffer[:_LENGTH], "big")
            if len(self._buffer) < _LENGTH + size:
                return
            payload = bytes(self._buffer[_LENGTH : _LENGTH + size])
            del self._buffer[: _LENGTH + size]
            self._answer(_fields(payload))

    def _answer(self, fields: list[bytes]) -> None:
        # [id, b"ok", name, value, name, value, ...] or [id, b"error", message]
        future = self.pending.pop(int(fields[0]), None)
        if future is None or future.done():
            return  # its caller was cancelled
        text = [field.decode() for field in fields[2:]]
        if fields[1] == b"ok":
            future.set_result(dict(zip(text[::2], text[1::2], strict=True)))
        else:
            future.set_exception(ValueError(text[0]))  # what sign_request itself raised

    def process_exited(self) -> None:
        self.alive = False
        self.exited.set()
        if self.transport is not None:
            # A child that died is dropped from the pool, not closed by aclose(): its pipes go now.
            self.transport.close()
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(SignerUnavailable("signing process exited"))


class SigningPool:
    """Signs delivery POSTs in `processes` helper processes; one event loop's worth."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self._children: list[_Child] = []
        self._ids = itertools.count()
        self._starting: asyncio.Lock | None = None
        self._no_spawn_until = 0.0

    async def sign_post(
        self, url: str, *, key_id: str, private_key_pem: str, body: bytes
    ) -> dict[str, str]:
        """`sign_request("POST", ...)`'s headers; raises SignerUnavailable if no child can."""
        children = await self._running()
        # The least busy child, so one stalled by the OS does not hold up the rest.
        child = min(children, key=lambda c: len(c.pending))
        request = [b"POST", url.encode(), key_id.encode(), private_key_pem.encode(), body]
        return await child.send(next(self._ids), request)

    async def _running(self) -> list[_Child]:
        live = [child for child in self._children if child.alive]
        if len(live) == self.processes:
            return live
        if asyncio.get_running_loop().time() < self._no_spawn_until:
            raise SignerUnavailable("a signing process failed to start recently")
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            self._children = [child for child in self._children if child.alive]
            while len(self._children) < self.processes:
                self._children.append(await self._spawn())
        return self._children

    async def _spawn(self) -> _Child:
        loop = asyncio.get_running_loop()
        try:
            _transport, child = await loop.subprocess_exec(
                _Child,
                sys.executable,
                "-m",
                "federation.signer_pool",
                env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
            )
        except Exception as exc:  # whatever stops the helper, signing must go on without it
            self._no_spawn_until = loop.time() + _RESPAWN_PAUSE
            log.warning("cannot start a signing process, signing in-process: %r", exc)
            raise SignerUnavailable(f"cannot start a signing process: {exc!r}") from exc
        return child

    async def aclose(self) -> None:
        """Close the children's stdin (they exit on EOF) and wait briefly for them."""
        children, self._children = self._children, []
        for child in children:
            if child.stdin is not None:
                child.stdin.close()
        for child in children:
            if child.transport is None:
                continue
            try:
                await asyncio.wait_for(child.exited.wait(), timeout=5)
            except TimeoutError:
                child.transport.kill()
            child.transport.close()


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The child: sign each request read from `requests` until it closes."""
    while True:
        header = requests.read(_LENGTH)
        if len(header) < _LENGTH:
            return
        request_id, method, url, key_id, pem, body = _fields(
            requests.read(int.from_bytes(header, "big"))
        )
        try:
            headers = sign_request(
                method.decode(),
                url.decode(),
                key_id=key_id.decode(),
                private_key_pem=pem.decode(),
                body=body,
            )
            answer = [b"ok", *(text.encode() for item in headers.items() for text in item)]
        except Exception as exc:  # a bad key or URL fails that request, not the child
            answer = [b"error", f"{type(exc).__name__}: {exc}".encode()]
        answers.write(_frame(request_id, *answer))
        answers.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
