"""The node's outbound HTTP: signed, size- and time-limited, refusing internal addresses."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from federation.config import FederationConfig
from federation.media_types import AS2, Accepted
from federation.netguard import ForbiddenAddress, GuardedResolver, check_url
from federation.signatures import sign_request
from federation.signer_pool import SignerUnavailable, SigningPool

AS2_ACCEPT = AS2.header
AS2_CONTENT_TYPE = "application/activity+json"


class FetchError(Exception):
    """A remote document could not be had; `status` is the HTTP status when there was one."""

    def __init__(self, url: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url
        self.reason = message
        self.status = status


@dataclass(frozen=True)
class Signer:
    key_id: str
    private_key_pem: str


@dataclass(frozen=True)
class PostResult:
    status: int
    retry_after: str | None
    body_excerpt: str


@functools.lru_cache(maxsize=16384)
def _check_url_cached(url: str, allow_local: bool, allowed: tuple[str, ...]) -> bool:
    """`check_url` remembered per URL: it judges only the text, so its verdict never changes.

    A fan-out sends each activity to the same inboxes as the last one; this makes the check
    a dictionary lookup for them. Refusals raise and so are never cached; names are still
    judged by the resolver at every connection.
    """
    check_url(url, allow_local=allow_local, allow_http=allow_local, allowed=allowed)
    return True


def tls_context(ca_file: str | None) -> ssl.SSLContext | bool:
    """Certificates are always verified: against the system's authorities (aiohttp's own
    default context, `True`), and those of `ca_file` besides when the node is given one (a
    private CA, the TLS test's proxy)."""
    if not ca_file:
        return True
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca_file)
    context.set_alpn_protocols(("http/1.1",))  # as aiohttp's default context
    return context


class SignedClient:
    """One per node process. Delivery POSTs and fetches share one aiohttp connection pool."""

    def __init__(
        self,
        config: FederationConfig,
        *,
        max_connections: int = 200,
        signing_processes: int | None = None,
    ) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None
        self._client: httpx.AsyncClient | None = None
        self._max_connections = max_connections
        # Delivery signatures are made in helper processes (see federation.signer_pool): the
        # event loop keeps one core busy with POSTs and the database, the RSA takes another.
        # 0 signs on the event loop thread.
        if signing_processes is None:
            signing_processes = 1 if (os.cpu_count() or 1) > 1 else 0
        self._signing = SigningPool(signing_processes) if signing_processes else None
        # Raises for a URL the node must never reach (federation.blocks): fetches and POSTs.
        self.guard: Callable[[str], None] | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(
                    allow_local=self.config.allow_local, allowed=self.config.allowed_private
                ),
                ssl=tls_context(self.config.ca_file),
                limit=self._max_connections,
                limit_per_host=8,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
            self._client = httpx.AsyncClient(
                transport=AiohttpTransport(client=self._session),
                timeout=httpx.Timeout(self.config.fetch_timeout),
                headers={"User-Agent": self.config.user_agent},
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self._session is not None:
            await self._session.close()
        self._client = self._session = None
        if self._signing is not None:
            await self._signing.aclose()

    def check(self, url: str) -> None:
        _check_url_cached(url, self.config.allow_local, self.config.allowed_private)
        if self.guard is not None:
            self.guard(url)

    async def get_json(
        self,
        url: str,
        *,
        signer: Signer | None = None,
        accept: Accepted = AS2,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """GET a JSON document, following a few redirects, each hop checked and re-signed.

        The answer must be served as one of the `accept` types (by default ActivityStreams):
        a document of any other type is refused, whatever it contains.

        `deadline` (default `config.fetch_timeout`) bounds the whole fetch, redirects and all:
        the transport's own timeout restarts with every byte read, so without it a server
        dripping bytes could hold the caller as long as it liked.
        """
        seconds = self.config.fetch_timeout if deadline is None else deadline
        timer = asyncio.timeout(seconds)
        try:
            async with timer:
                return await self._get_json(url, signer, accept)
        except TimeoutError as exc:
            if not timer.expired():
                raise
            raise FetchError(url, f"no complete answer within {seconds:g} s") from exc

    async def _get_json(self, url: str, signer: Signer | None, accept: Accepted) -> dict[str, Any]:
        current = url
        for _hop in range(self.config.max_redirects + 1):
            try:
                self.check(current)
            except (ForbiddenAddress, ValueError) as exc:
                raise FetchError(current, str(exc)) from exc
            headers = {"Accept": accept.header}
            if signer is not None:
                headers.update(
                    sign_request(
                        "GET",
                        current,
                        key_id=signer.key_id,
                        private_key_pem=signer.private_key_pem,
                    )
                )
            try:
                async with self._http().stream(
                    "GET", current, headers=headers, timeout=self.config.fetch_timeout
                ) as response:
                    if response.status_code in (301, 302, 303, 307, 308):
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError(current, "redirect without Location", 502)
                        current = urljoin(current, location)
                        continue
                    if response.status_code != 200:
                        raise FetchError(
                            current, f"HTTP {response.status_code}", response.status_code
                        )
                    content_type = response.headers.get("content-type")
                    if not accept.admits(content_type):
                        raise FetchError(
                            current, f"served as {content_type or 'no type'}, not {accept.header}"
                        )
                    body = await self._read_capped(response, current)
            except httpx.HTTPError as exc:
                raise FetchError(current, f"{type(exc).__name__}: {exc}") from exc
            except (OSError, aiohttp.ClientError) as exc:
                raise FetchError(current, f"{type(exc).__name__}: {exc}") from exc
            try:
                document = json.loads(body)
            except ValueError as exc:
                raise FetchError(current, "response is not JSON") from exc
            if not isinstance(document, dict):
                raise FetchError(current, "response is not a JSON object")
            return document
        raise FetchError(url, "too many redirects")

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        limit = self.config.max_fetch_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FetchError(url, f"response larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise FetchError(url, f"response larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def post_activity(self, inbox: str, body: bytes, signer: Signer) -> PostResult:
        """POST one signed activity. Network failures raise; any HTTP answer is returned."""
        self.check(inbox)
        headers = {"Content-Type": AS2_CONTENT_TYPE, "Accept": AS2_ACCEPT}
        headers.update(await self._sign_post(inbox, body, signer))
        # A total deadline for the whole exchange: httpx's timeout becomes aiohttp's per-read
        # timeout, which a receiver dripping one byte at a time restarts forever. Past it the
        # POST raises TimeoutError: a failed attempt, retried, never "delivered".
        async with asyncio.timeout(self.config.delivery_timeout):
            # Streamed so a hostile inbox cannot make us buffer a huge error page.
            async with self._http().stream(
                "POST", inbox, content=body, headers=headers, timeout=self.config.delivery_timeout
            ) as response:
                excerpt = b""
                if response.status_code >= 400:
                    async for chunk in response.aiter_bytes():
                        excerpt += chunk
                        if len(excerpt) >= 500:
                            break
                return PostResult(
                    response.status_code,
                    response.headers.get("retry-after"),
                    excerpt[:500].decode("utf-8", "replace"),
                )

    async def _sign_post(self, url: str, body: bytes, signer: Signer) -> dict[str, str]:
        if self._signing is not None:
            try:
                return await self._signing.sign_post(
                    url, key_id=signer.key_id, private_key_pem=signer.private_key_pem, body=body
                )
            except SignerUnavailable:
                # Slower, never wrong: a helper that died is started again on a later call.
                pass
        return sign_request(
            "POST", url, key_id=signer.key_id, private_key_pem=signer.private_key_pem, body=body
        )
