"""A client that sends nothing, or its request a little at a time, is hung up on.

Each test holds a raw socket to a web process configured as `iwsn serve` configures one, with
short deadlines, and waits (generously) for the server to close it: a read that returns b"".
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx
from support import served

DEADLINES = {"header_timeout": 0.5, "body_timeout": 0.5}
# How long the test waits for the close: far beyond the deadlines; not a measure of speed.
PATIENCE = 60


async def connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    return await asyncio.open_connection(parts.hostname, parts.port)


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """All the server sent before it closed the connection."""
    return await asyncio.wait_for(reader.read(), timeout=PATIENCE)


async def test_a_connection_that_sends_nothing_is_closed(start_node):
    node = await start_node("alpha")
    async with served(node.node.settings, **DEADLINES) as url:
        reader, writer = await connect(url)
        try:
            assert await closed_by_server(reader) == b""
        finally:
            writer.close()


async def test_half_a_request_line_and_then_nothing_is_closed(start_node):
    node = await start_node("alpha")
    async with served(node.node.settings, **DEADLINES) as url:
        reader, writer = await connect(url)
        try:
            writer.write(b"GET /actions HT")
            await writer.drain()
            assert await closed_by_server(reader) == b""
        finally:
            writer.close()


async def test_headers_dripped_a_byte_at_a_time_do_not_keep_the_connection(start_node):
    node = await start_node("alpha")
    async with served(node.node.settings, **DEADLINES) as url:
        reader, writer = await connect(url)
        request = b"GET /actions HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
        try:
            for byte in request:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.05)
                if reader.at_eof():
                    break
            assert await closed_by_server(reader) == b""
        except ConnectionError:
            pass  # closed while we were still writing: what the test wants
        finally:
            writer.close()


async def test_a_body_that_never_comes_is_not_waited_for(start_node):
    node = await start_node("alpha")
    async with served(node.node.settings, **DEADLINES) as url:
        reader, writer = await connect(url)
        try:
            writer.write(
                b"POST /inbox HTTP/1.1\r\nHost: x\r\nContent-Type: application/activity+json\r\n"
                b'Content-Length: 1000\r\n\r\n{"type": '
            )
            await writer.drain()
            assert await closed_by_server(reader) == b""
        finally:
            writer.close()


async def test_a_request_that_comes_whole_is_answered_and_kept_alive(start_node):
    node = await start_node("alpha")
    async with served(node.node.settings, **DEADLINES) as url, httpx.AsyncClient() as http:
        for _ in range(3):
            assert (await http.get(f"{url}/actions")).status_code == 200
