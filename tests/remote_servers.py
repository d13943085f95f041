"""Stand-ins for Mobilizon, Gancio, Friendica and Mastodon servers on loopback.

Each serves the fixture documents (tests/fixtures/remote) of its host at their paths, with a
real key pair in place of PUBLIC_KEY_PEM, records what is POSTed to it, and signs what it sends
as that software would (draft-cavage, rsa-sha256).
"""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from support import _serve, free_socket

from federation.keys import generate_private_key_pem, public_key_pem
from federation.signatures import sign_request

FIXTURES = Path(__file__).parent / "fixtures" / "remote"


@dataclass
class RemoteServer:
    """One fake host: `https://{name}` in the fixtures becomes `http://127.0.0.1:{port}`."""

    name: str
    iwsn_base: str
    port: int = 0
    private_key: str = field(default_factory=generate_private_key_pem)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Content-Type of a document by path, where it is not application/activity+json.
    media_types: dict[str, str] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    # Seconds each GET takes to answer, and the most GETs it was answering at once.
    delay: float = 0.0
    most_at_once: int = 0
    _answering: int = 0
    server: Any = None
    task: Any = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rewrite(self, text: str, **placeholders: str) -> str:
        text = text.replace(f"https://{self.name}", self.base)
        text = text.replace("https://iwsn.example", self.iwsn_base)
        text = text.replace("PUBLIC_KEY_PEM", json.dumps(public_key_pem(self.private_key))[1:-1])
        for key, value in placeholders.items():
            text = text.replace(key, value)
        return text

    def fixture(self, filename: str, **placeholders: str) -> dict[str, Any]:
        return json.loads(self.rewrite((FIXTURES / filename).read_text(), **placeholders))

    def serve_document(self, filename: str, **placeholders: str) -> dict[str, Any]:
        document = self.fixture(filename, **placeholders)
        self.documents[urlsplit(document["id"]).path] = document
        return document

    def serve_actor(self, path: str, actor_type: str = "Person") -> str:
        """Another account on this server (the bare fields an actor needs); returns its id."""
        actor_id = f"{self.base}{path}"
        self.documents[path] = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor_id,
            "type": actor_type,
            "preferredUsername": path.rstrip("/").rsplit("/", 1)[-1].lstrip("@"),
            "inbox": f"{actor_id}/inbox",
            "outbox": f"{actor_id}/outbox",
            "publicKey": {
                "id": f"{actor_id}#main-key",
                "owner": actor_id,
                "publicKeyPem": public_key_pem(self.private_key),
            },
        }
        return actor_id

    async def start(self) -> None:
        async def get(request: Request) -> Response:
            self.fetched.append(request.url.path)
            self._answering += 1
            self.most_at_once = max(self.most_at_once, self._answering)
            try:
                await asyncio.sleep(self.delay)
            finally:
                self._answering -= 1
            document = self.documents.get(request.url.path)
            if document is None:
                return JSONResponse({"error": "not found"}, status_code=404)
            media_type = self.media_types.get(request.url.path, "application/activity+json")
            return JSONResponse(document, media_type=media_type)

        async def post(request: Request) -> Response:
            self.received.append(json.loads(await request.body()))
            return Response(status_code=202)

        app = Starlette(
            routes=[
                Route("/{path:path}", get, methods=["GET"]),
                Route("/{path:path}", post, methods=["POST"]),
            ]
        )
        if self.port:
            # A server that was "down" at a known address comes up there.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
        else:
            sock = free_socket()
            self.port = sock.getsockname()[1]
        self.server, self.task = await _serve(app, sock)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            await self.task

    async def deliver(self, inbox: str, activity: dict[str, Any]) -> httpx.Response:
        """POST an activity, signed by its actor's key as the real software would."""
        body = json.dumps(activity).encode()
        actor = activity["actor"]
        headers = sign_request(
            "POST", inbox, key_id=f"{actor}#main-key", private_key_pem=self.private_key, body=body
        )
        headers["Content-Type"] = "application/activity+json"
        async with httpx.AsyncClient() as client:
            return await client.post(inbox, content=body, headers=headers)


@dataclass
class DripServer:
    """A hostile server on loopback: it answers at once, then sends its body slowly.

    Each GET gets its headers (with the full Content-Length) at once, then `chunk` bytes of
    `body` every `interval` seconds: no single read ever waits long, so only a deadline on the
    whole fetch ends it. A path in `redirects` is answered with a redirect to its target,
    after `hop_delay` seconds. `sent` counts the body bytes written to the last client, and
    `finished` says whether any client got the whole body.
    """

    body: bytes
    interval: float = 0.1
    chunk: int = 1
    content_type: str = "application/activity+json"
    redirects: dict[str, str] = field(default_factory=dict)
    hop_delay: float = 0.0
    port: int = 0
    requested: list[str] = field(default_factory=list)
    sent: int = 0
    finished: bool = False
    _server: Any = None
    _clients: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        sock = free_socket()
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._client, sock=sock)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            self.requested.append(path)
            if path in self.redirects:
                await asyncio.sleep(self.hop_delay)
                writer.write(
                    b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\nConnection: close\r\n"
                    + f"Location: {self.redirects[path]}\r\n\r\n".encode()
                )
                await writer.drain()
                return
            writer.write(
                f"HTTP/1.1 200 OK\r\nContent-Type: {self.content_type}\r\n"
                f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n".encode()
            )
            self.sent = 0
            for start in range(0, len(self.body), self.chunk):
                await writer.drain()
                if writer.is_closing() or reader.at_eof():
                    return  # the client gave up
                writer.write(self.body[start : start + self.chunk])
                self.sent = start + len(self.body[start : start + self.chunk])
                await asyncio.sleep(self.interval)
            await writer.drain()
            self.finished = True
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._clients.discard(task)
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)
            await self._server.wait_closed()


@dataclass
class SlowInbox:
    """An inbox that takes its time, on a raw socket so nothing in between buffers or times out.

    It reads each POST whole, then answers 202 one byte every `drip` seconds (a receiver that
    keeps a per-read timeout from ever firing), or, with `drip=None`, holds the answer until
    `release` is set. `held` counts requests read and not yet answered.
    """

    drip: float | None = None
    release: asyncio.Event = field(default_factory=asyncio.Event)
    received: list[str] = field(default_factory=list)
    held: int = 0
    port: int = 0
    server: asyncio.Server | None = None
    _connections: set[asyncio.StreamWriter] = field(default_factory=set)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        sock = free_socket()
        self.server = await asyncio.start_server(self._serve, sock=sock)
        self.port = sock.getsockname()[1]

    async def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.close()
            for writer in self._connections:
                writer.close()
            await self.server.wait_closed()
            self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                self.received.append(lines[0].split(" ")[1])
                self.held += 1
                try:
                    await self._answer(writer)
                finally:
                    self.held -= 1
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        answer = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
        if self.drip is None:
            await self.release.wait()
            writer.write(answer)
            await writer.drain()
            return
        for byte in answer:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(self.drip)
