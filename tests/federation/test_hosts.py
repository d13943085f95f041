"""Origin checks compare hosts: same_host must agree with the full parse on every spelling."""

from __future__ import annotations

import itertools

import pytest

from federation.remote_actors import host_of, same_host

HOSTS = ["example.org", "127.0.0.1:8001", "[::1]:8443", "xn--grve-ira.example"]
URIS = [
    "https://example.org/activities/1",
    "http://example.org/x",
    "https://EXAMPLE.org/x",
    "HTTPS://example.org/x",
    "https://example.org",
    "https://example.org?x=/",
    "https://example.org#/",
    "https://example.org.evil.net/x",
    "https://example.orgevil/x",
    "https://evil.net/example.org/x",
    "https://user@example.org/x",
    "https://example.org@evil.net/x",
    "https://example.org:443/x",
    "https://exam\tple.org/x",
    " https://example.org/x",
    "\thttps://evil.net/x",
    "https://example.org\\@evil.net/",
    "//example.org/x",
    "example.org/x",
    "http://127.0.0.1:8001/inbox",
    "http://127.0.0.1:80011/inbox",
    "http://127.0.0.1/inbox",
    "https://[::1]:8443/x",
    "https://[::1]/x",
    "https://xn--grve-ira.example/x",
    "",
]


@pytest.mark.parametrize(("uri", "host"), list(itertools.product(URIS, HOSTS)))
def test_same_host_agrees_with_host_of(uri, host):
    assert same_host(uri, host) == (host_of(uri) == host)


def test_the_fast_path_still_says_yes_for_the_plain_spelling():
    assert same_host("https://example.org/activities/1", "example.org")
    assert not same_host("https://example.org.evil.net/x", "example.org")
