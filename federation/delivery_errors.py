"""What a failed POST was, in the retry policy's words (federation/retry.py)."""

from __future__ import annotations

import asyncio
import socket
import ssl

import aiohttp
import httpx

from federation.netguard import ForbiddenAddress
from federation.retry import FailureKind, Outcome


def classify(exc: BaseException) -> Outcome:
    """Map a network failure to the policy's vocabulary.

    The innermost cause decides: httpx-aiohttp re-raises a refused connection as
    httpx.ConnectTimeout, which would otherwise read as a timeout.
    """
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for cause in reversed(chain):
        outcome = _classify_one(cause)
        if outcome is not None:
            return outcome
    return Outcome(FailureKind.OTHER)


def _classify_one(exc: BaseException) -> Outcome | None:
    if isinstance(exc, ForbiddenAddress):
        return Outcome(FailureKind.FORBIDDEN_ADDRESS)
    if isinstance(exc, socket.gaierror):
        # Only "no such name" is final; a resolver failing is our problem, retried.
        final = exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))
        return Outcome(FailureKind.DNS if final else FailureKind.OTHER)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | ssl.SSLError):
        return Outcome(FailureKind.TLS)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | aiohttp.ServerTimeoutError):
        return Outcome(FailureKind.TIMEOUT)
    if isinstance(exc, ConnectionError | aiohttp.ClientConnectionError):
        return Outcome(FailureKind.CONNECTION)
    if isinstance(exc, httpx.TimeoutException):
        return Outcome(FailureKind.TIMEOUT)
    if isinstance(exc, httpx.TransportError):
        return Outcome(FailureKind.CONNECTION)
    return None
