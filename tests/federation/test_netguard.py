import pickle
import socket

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from federation.netguard import (
    ForbiddenAddress,
    GuardedResolver,
    check_url,
    is_forbidden_address,
)

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "172.32.0.1",  # just past 172.16.0.0/12
    "100.128.0.1",  # just past carrier-grade NAT
    "2606:4700:4700::1111",
    "2a00:1450:4001:81c::200e",
    "2001:200::1",  # just past 2001::/23
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]

LOCAL = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.5.4",
    "172.31.255.255",
    "192.168.1.1",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "::ffff:127.0.0.1",
    "::ffff:10.1.2.3",
]

ALWAYS_FORBIDDEN = [
    "0.0.0.0",
    "0.1.2.3",
    "255.255.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "169.254.169.254",  # cloud metadata
    "169.254.0.1",
    "100.64.0.1",
    "100.127.255.254",
    "192.0.0.8",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",
    "240.0.0.1",
    "::",
    "::127.0.0.1",  # IPv4-compatible, deprecated
    "ff02::1",
    "ff0e::1",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",  # site-local
    "2001:db8::1",
    "3fff::1",
    "100::1",
    "2001::1",  # Teredo
    "64:ff9b:1::1",
    "::ffff:169.254.169.254",
    "::ffff:0.0.0.0",
    "::ffff:224.0.0.1",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1: reaches a translator, not our loopback
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "not-an-ip",
    "",
    "127.000.000.001",
]


@pytest.mark.parametrize("ip", PUBLIC)
@pytest.mark.parametrize("allow_local", [False, True])
def test_public_addresses_are_allowed(ip, allow_local):
    assert not is_forbidden_address(ip, allow_local=allow_local)


@pytest.mark.parametrize("ip", LOCAL)
def test_loopback_and_private_are_forbidden_in_production(ip):
    assert is_forbidden_address(ip, allow_local=False)


@pytest.mark.parametrize("ip", LOCAL)
def test_loopback_and_private_are_allowed_in_local_mode(ip):
    assert not is_forbidden_address(ip, allow_local=True)


@pytest.mark.parametrize("ip", ALWAYS_FORBIDDEN)
@pytest.mark.parametrize("allow_local", [False, True])
def test_special_addresses_are_forbidden_in_both_modes(ip, allow_local):
    assert is_forbidden_address(ip, allow_local=allow_local)


def test_forbidden_address_is_an_oserror_that_says_why():
    exc = ForbiddenAddress("evil.example", "10.0.0.1")
    assert isinstance(exc, OSError)
    assert exc.host == "evil.example" and exc.address == "10.0.0.1"
    assert "evil.example" in str(exc) and "10.0.0.1" in str(exc)
    copy = pickle.loads(pickle.dumps(exc))
    assert (copy.host, copy.address, str(copy)) == (exc.host, exc.address, str(exc))


# check_url

ACCEPTED = [
    ("https://example.com/inbox", False, False),
    ("https://EXAMPLE.com:8443/users/a?x=1#y", False, False),
    ("https://bücher.example/", False, False),
    ("https://8.8.8.8/inbox", False, False),
    ("https://[2606:4700:4700::1111]/inbox", False, False),
    ("http://example.com/", False, True),
    ("http://127.0.0.1:8000/inbox", True, True),
    ("http://localhost:8000/inbox", False, True),  # a name: the resolver judges it
    ("http://[::1]:8000/", True, True),
]


@pytest.mark.parametrize(("url", "allow_local", "allow_http"), ACCEPTED)
def test_check_url_accepts(url, allow_local, allow_http):
    check_url(url, allow_local=allow_local, allow_http=allow_http)


REFUSED = [
    "ftp://example.com/file",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "gopher://example.com:70/",
    "example.com/no-scheme",
    "//example.com/no-scheme",
    "https://user:secret@example.com/",
    "https://user@example.com/",
    "https://@example.com/",
    "https:///only-a-path",
    "https://",
    "https://exa mple.com/",
    "https://example.com\\@127.0.0.1/",
    "https://example.com/\r\nHost: internal",
    "https://2130706433/",  # 127.0.0.1 as one integer
    "https://127.1/",
    "https://0x7f.0.0.1/",
    "https://0177.0.0.1/",
    "https://127.0.0.1./",
    "https://example.com:99999/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_check_url_refuses_malformed_or_sneaky_urls(url):
    with pytest.raises(ValueError):
        check_url(url, allow_local=True, allow_http=True)


def test_check_url_refuses_plain_http_unless_allowed():
    with pytest.raises(ValueError, match="https"):
        check_url("http://example.com/inbox", allow_local=False, allow_http=False)


FORBIDDEN_LITERALS = [
    ("https://127.0.0.1/", False),
    ("https://10.0.0.1/", False),
    ("https://[::1]/", False),
    ("https://[::ffff:127.0.0.1]/", False),
    ("https://[fc00::1]/", False),
    ("https://169.254.169.254/latest/meta-data/", True),
    ("https://0.0.0.0:8000/", True),
    ("https://[::]/", True),
    ("https://224.0.0.1/", True),
    ("https://[fe80::1%25eth0]/", True),
    ("https://100.64.0.1/", True),
]


@pytest.mark.parametrize(("url", "allow_local"), FORBIDDEN_LITERALS)
def test_check_url_refuses_forbidden_ip_literals(url, allow_local):
    with pytest.raises(ForbiddenAddress):
        check_url(url, allow_local=allow_local, allow_http=True)


# GuardedResolver


class FixedResolver(AbstractResolver):
    """Answers every name with the given addresses, as a hostile DNS server would."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.addresses
        ]

    async def close(self) -> None:
        self.closed = True


@pytest.mark.asyncio
async def test_resolver_passes_public_answers_through():
    resolver = GuardedResolver(allow_local=False, resolver=FixedResolver("93.184.215.14"))
    results = await resolver.resolve("example.com", 443)
    assert [r["host"] for r in results] == ["93.184.215.14"]


@pytest.mark.asyncio
async def test_resolver_refuses_a_name_if_any_address_is_internal():
    inner = FixedResolver("93.184.215.14", "10.0.0.5")
    resolver = GuardedResolver(allow_local=False, resolver=inner)
    with pytest.raises(ForbiddenAddress) as caught:
        await resolver.resolve("rebind.example", 443)
    assert caught.value.host == "rebind.example"
    assert caught.value.address == "10.0.0.5"
    await resolver.close()
    assert inner.closed


@pytest.mark.asyncio
async def test_resolver_refuses_metadata_address_even_in_local_mode():
    resolver = GuardedResolver(allow_local=True, resolver=FixedResolver("169.254.169.254"))
    with pytest.raises(ForbiddenAddress):
        await resolver.resolve("metadata.example", 80)


@pytest.fixture
async def loopback_server():
    """A tiny HTTP server on 127.0.0.1 only, counting the requests that reach it."""
    hits: list[str] = []

    async def hello(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port, hits
    finally:
        await runner.cleanup()


def guarded_session(allow_local: bool) -> aiohttp.ClientSession:
    # IPv4 only, so "localhost" can only mean the 127.0.0.1 the server listens on.
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(allow_local=allow_local), family=socket.AF_INET
    )
    return aiohttp.ClientSession(connector=connector, trust_env=False)


@pytest.mark.asyncio
async def test_session_refuses_a_name_resolving_to_loopback(loopback_server):
    port, hits = loopback_server
    async with guarded_session(allow_local=False) as session:
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            await session.get(f"http://localhost:{port}/")
    assert isinstance(caught.value.os_error, ForbiddenAddress)
    assert isinstance(caught.value.__cause__, ForbiddenAddress)
    assert caught.value.__cause__.address == "127.0.0.1"
    assert hits == []


@pytest.mark.asyncio
async def test_session_reaches_loopback_in_local_mode(loopback_server):
    port, hits = loopback_server
    async with guarded_session(allow_local=True) as session:
        async with session.get(f"http://localhost:{port}/") as response:
            assert response.status == 200
            assert await response.text() == "hello"
    assert hits == ["/"]
