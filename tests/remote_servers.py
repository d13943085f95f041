"""Stand-ins for Mobilizon, Gancio, Friendica and Mastodon servers on loopback.

Each serves the fixture documents (tests/fixtures/remote) of its host at their paths, with a
real key pair in place of PUBLIC_KEY_PEM, records what is POSTed to it, and signs what it sends
as that software would (draft-cavage, rsa-sha256).
"""

from __future__ import annotations

import json
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
    received: list[dict[str, Any]] = field(default_factory=list)
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

    async def start(self) -> None:
        async def get(request: Request) -> Response:
            document = self.documents.get(request.url.path)
            if document is None:
                return JSONResponse({"error": "not found"}, status_code=404)
            return JSONResponse(document, media_type="application/activity+json")

        async def post(request: Request) -> Response:
            self.received.append(json.loads(await request.body()))
            return Response(status_code=202)

        app = Starlette(
            routes=[
                Route("/{path:path}", get, methods=["GET"]),
                Route("/{path:path}", post, methods=["POST"]),
            ]
        )
        sock = free_socket()
        self.port = sock.getsockname()[1]
        self.server, self.task = await _serve(app, sock)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
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
