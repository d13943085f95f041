"""Failed logins are counted in the database, per address and per account, and a client
cannot pick its own address with X-Forwarded-For unless it is a proxy the admin named."""

from __future__ import annotations

import httpx
import pytest
from support import served
from test_admin import PASSWORD, login, setup_admin

from web.settings import SettingsError, load


def client(base_url: str, *, source: str | None = None, forwarded: str | None = None):
    return httpx.AsyncClient(
        base_url=base_url,
        follow_redirects=False,
        headers={"X-Forwarded-For": forwarded} if forwarded else {},
        transport=httpx.AsyncHTTPTransport(local_address=source) if source else None,
    )


async def attempt(base_url: str, password: str, **how) -> int:
    async with client(base_url, **how) as http:
        return (await login(http, "admin", password)).status_code


async def test_a_new_forwarded_for_from_loopback_does_not_reset_the_count(start_node):
    node = await start_node("alpha")
    await setup_admin(node)
    async with served(node.node.settings) as url:
        for n in range(5):
            assert await attempt(url, "wrong password!", forwarded=f"203.0.113.{n}") == 401
        assert await attempt(url, PASSWORD, forwarded="203.0.113.99") == 429


async def test_forwarded_for_is_believed_from_a_named_proxy(start_node):
    node = await start_node("alpha")
    await setup_admin(node)
    async with served(node.node.settings, trusted_proxies=("127.0.0.1/32",)) as url:
        for _ in range(5):
            assert await attempt(url, "wrong password!", forwarded="203.0.113.1") == 401
        assert await attempt(url, PASSWORD, forwarded="203.0.113.1") == 429
        # Another client behind the proxy is another address.
        assert await attempt(url, PASSWORD, forwarded="203.0.113.2") == 303


async def test_two_web_processes_share_the_count(start_node):
    node = await start_node("alpha")
    await setup_admin(node)
    async with served(node.node.settings) as other:
        for base_url in (node.base_url, other, node.base_url, other, node.base_url):
            assert await attempt(base_url, "wrong password!") == 401
        assert await attempt(other, PASSWORD) == 429
        assert await attempt(node.base_url, PASSWORD) == 429


async def test_an_account_is_locked_after_guesses_from_many_addresses(start_node):
    node = await start_node("alpha")
    await setup_admin(node)
    # Loopback is a whole /8: each guess comes from an address of its own.
    for n in range(10):
        assert await attempt(node.base_url, "wrong password!", source=f"127.0.0.{n + 2}") == 401
    assert await attempt(node.base_url, PASSWORD, source="127.0.0.20") == 429
    # Other accounts are not locked by it.
    await setup_admin(node, "other", PASSWORD)
    async with client(node.base_url, source="127.0.0.21") as http:
        assert (await login(http, "other", PASSWORD)).status_code == 303


def test_trusted_proxies_setting():
    base = {"IWSN_LOCAL_DEV": "1"}
    assert load(base).trusted_proxies == ()
    assert load(
        {**base, "IWSN_TRUSTED_PROXIES": "10.0.0.1, 172.16.0.0/12,::1"}
    ).trusted_proxies == (
        "10.0.0.1/32",
        "172.16.0.0/12",
        "::1/128",
    )
    with pytest.raises(SettingsError, match="IWSN_TRUSTED_PROXIES"):
        load({**base, "IWSN_TRUSTED_PROXIES": "proxy.example"})
