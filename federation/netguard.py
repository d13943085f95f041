"""Keep the node's outbound requests off internal networks (SSRF guard).

Any remote actor can make us fetch a URL of its choosing (its key, its inbox, an object id),
so every address we connect to is checked. Two places are needed because aiohttp skips the
resolver for IP literals: `check_url` covers literals before the request, `GuardedResolver`
covers names at the moment they resolve. The connector connects only to the addresses the
resolver returned, so a name that re-resolves to 127.0.0.1 a second later (DNS rebinding)
gains nothing. Neither check sees an HTTP proxy's target: do not use proxies with this guard,
and check every redirect hop with `check_url` rather than letting the client follow them.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import re
import socket
from typing import Any

import yarl
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_net = ipaddress.ip_network

# Allowed only when the node runs for local development or tests.
_V4_LOCAL = (_net("127.0.0.0/8"), _net("10.0.0.0/8"), _net("172.16.0.0/12"), _net("192.168.0.0/16"))
_V6_LOCAL = (_net("::1/128"), _net("fc00::/7"))

# Written out rather than left to `is_global`/`is_private`, whose tables differ between
# Python patch releases (3.11.7 calls ::127.0.0.1 and fec0::1 global).
_V4_NEVER = (
    _net("0.0.0.0/8"),  # "this network"
    _net("100.64.0.0/10"),  # carrier-grade NAT: the provider's side of the network
    _net("169.254.0.0/16"),  # link-local, home of cloud metadata endpoints
    _net("192.0.0.0/24"),  # IETF protocol assignments
    _net("192.0.2.0/24"),  # documentation
    _net("192.88.99.0/24"),  # 6to4 relay anycast
    _net("198.18.0.0/15"),  # benchmarking
    _net("198.51.100.0/24"),  # documentation
    _net("203.0.113.0/24"),  # documentation
    _net("224.0.0.0/4"),  # multicast
    _net("240.0.0.0/4"),  # reserved, and 255.255.255.255
)
# Everything routable on the IPv6 internet is inside 2000::/3, so anything outside it that is
# not handled above it (loopback, unique-local, the IPv4 embeddings) is refused wholesale:
# ::, IPv4-compatible ::a.b.c.d, multicast, link-local, site-local, 64:ff9b:1::/48, 100::/64.
_V6_GLOBAL_UNICAST = _net("2000::/3")
_V6_NEVER = (
    _net("2001::/23"),  # IETF protocol assignments, including Teredo tunnels
    _net("2001:db8::/32"),  # documentation
    _net("3fff::/20"),  # documentation (RFC 9637)
)
_NAT64 = _net("64:ff9b::/96")


def is_forbidden_address(ip: str, *, allow_local: bool, allowed: tuple[str, ...] = ()) -> bool:
    """True if we must not connect to `ip`. Anything that does not parse is refused.

    `allowed` names addresses or networks the admin opened on purpose (a peer on the same
    private network): they are let through whatever range they are in.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return True
    if allowed and _in_allowed(address, allowed):
        return False
    return _forbidden(address, allow_local)


@functools.lru_cache(maxsize=64)
def _networks(
    allowed: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in allowed)


def _in_allowed(address: _Address, allowed: tuple[str, ...]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(allowed))


def _forbidden(address: _Address, allow_local: bool) -> bool:
    if isinstance(address, ipaddress.IPv4Address):
        return _v4_forbidden(address, allow_local)
    if address.scope_id:
        address = ipaddress.IPv6Address(int(address))
    if address.ipv4_mapped is not None:
        # The kernel connects ::ffff:a.b.c.d to a.b.c.d itself.
        return _v4_forbidden(address.ipv4_mapped, allow_local)
    # A 6to4 or NAT64 form of a local address never reaches this machine's loopback or LAN,
    # only a translator that would forward it there, so local mode has no use for it.
    if address in _NAT64:
        return _v4_forbidden(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), False)
    if address.sixtofour is not None:
        return _v4_forbidden(address.sixtofour, False)
    if any(address in net for net in _V6_LOCAL):
        return not allow_local
    if address not in _V6_GLOBAL_UNICAST or any(address in net for net in _V6_NEVER):
        return True
    return address.is_multicast or address.is_reserved or address.is_private


def _v4_forbidden(address: ipaddress.IPv4Address, allow_local: bool) -> bool:
    if any(address in net for net in _V4_LOCAL):
        return not allow_local
    if any(address in net for net in _V4_NEVER):
        return True
    return not address.is_global or address.is_multicast or address.is_reserved


class ForbiddenAddress(OSError):
    """A host that is, or resolves to, an address the guard refuses.

    An OSError so that aiohttp treats it as a failed connection: raised in the resolver it
    reaches the caller as `aiohttp.ClientConnectorDNSError` (`os_error` and `__cause__` are
    this exception), and through the httpx-aiohttp transport as `httpx.ConnectError` whose
    `__cause__` is that aiohttp error. Walk the cause chain to tell it from a DNS failure.
    """

    def __init__(self, host: str, address: str) -> None:
        self.host = host
        self.address = address
        shown = address if host.strip("[]") == address else f"{host} ({address})"
        message = f"refusing to connect to {shown}: not a public address"
        # errno/strerror filled so aiohttp's "Cannot connect to host ... [strerror]" says why.
        super().__init__(errno.EACCES, message)

    def __str__(self) -> str:
        return str(self.strerror)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.host, self.address))


def check_url(
    url: str, *, allow_local: bool, allow_http: bool, allowed: tuple[str, ...] = ()
) -> None:
    """Refuse a URL before any request is made: raises ValueError or ForbiddenAddress."""
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in url):
        # Parsers disagree on these; what we check must be what the client connects to.
        raise ValueError(
            f"refusing URL with whitespace, control characters or backslashes: {url!r}"
        )
    try:
        parsed = yarl.URL(url)  # aiohttp's own parser, so we see the host it will see
    except (ValueError, TypeError) as exc:
        raise ValueError(f"unparsable URL {url!r}: {exc}") from exc
    scheme = parsed.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"refusing {scheme or 'scheme-less'} URL {url!r}: only http(s) is fetched")
    if scheme == "http" and not allow_http:
        raise ValueError(f"refusing plain-http URL {url!r}: https is required")
    # Judged on the raw text too: yarl silently drops an empty userinfo ("http://@host/").
    authority = re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0]
    if parsed.raw_user is not None or parsed.raw_password is not None or "@" in authority:
        raise ValueError(f"refusing URL with credentials in it: {url!r}")
    host = parsed.raw_host
    if not host:
        raise ValueError(f"refusing URL without a host: {url!r}")
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(literal)
    except ValueError:
        # aiohttp skips the resolver for any host with a colon or only digits and dots, so
        # such a host must be an address we can judge here or nothing at all.
        if ":" in literal or literal.replace(".", "").isdigit() or _is_legacy_ipv4(literal):
            raise ValueError(
                f"refusing URL {url!r}: {host} is not a canonical IP address"
            ) from None
        return  # a name: GuardedResolver judges what it resolves to
    if is_forbidden_address(literal, allow_local=allow_local, allowed=allowed):
        raise ForbiddenAddress(host, literal)


def _is_legacy_ipv4(host: str) -> bool:
    # inet_aton reads "2130706433", "0x7f.1" and "127.1" as 127.0.0.1; getaddrinfo may too.
    # The resolver would still catch the result, but such a host is never a real actor's.
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that refuses a name if any of its addresses is forbidden.

    Any, not all: an answer mixing a public and an internal address is how rebinding attacks
    get a connection to the internal one when the public one is made to fail.
    """

    def __init__(
        self,
        *,
        allow_local: bool,
        resolver: AbstractResolver | None = None,
        allowed: tuple[str, ...] = (),
    ) -> None:
        self.allow_local = allow_local
        self.allowed = allowed
        # Built lazily: aiohttp's ThreadedResolver binds the running loop when created.
        self._resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._resolver is None:
            self._resolver = DefaultResolver()
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            if is_forbidden_address(
                result["host"], allow_local=self.allow_local, allowed=self.allowed
            ):
                raise ForbiddenAddress(host, result["host"])
        return results

    async def close(self) -> None:
        if self._resolver is not None:
            await self._resolver.close()
