"""Ids and hosts in one spelling; same_host agrees with the full parse on every spelling."""

from __future__ import annotations

import itertools

import pytest

from federation.uris import host_of, normalize_uri, same_host

HOSTS = [
    "example.org",
    "127.0.0.1:8001",
    "[::1]:8443",
    "xn--grve-ira.example",
    "xn--grve-moa.example",  # gräve.example
    "localhost:8001",
    # Normal forms too: http://example.org:443/ is on "example.org:443", https://... is not.
    "example.org:443",
    "example.org:80",
]
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
    "https://gräve.example/x",
    "https://GRÄVE.example/x",
    "https://example.org./x",
    "https://EXAMPLE.ORG./x",
    "https://example.org:/x",
    "https://example.org:0443/x",
    "http://example.org:443/x",
    "http://example.org:80/x",
    "https://example.org:80/x",
    "http://example.org:443",
    "http://LOCALHOST:8001/users/x",
    "HTTP://localhost:8001/users/x",
    "http://localhost:8001/users/x",
    "http://localhost.:8001/users/x",
    "https://[0:0::1]:8443/x",
    "https://[::1]:08443/x",
    "",
]


@pytest.mark.parametrize(("uri", "host"), list(itertools.product(URIS, HOSTS)))
def test_same_host_agrees_with_host_of(uri, host):
    assert same_host(uri, host) == (host_of(uri) == host)


def test_the_fast_path_still_says_yes_for_the_plain_spelling():
    assert same_host("https://example.org/activities/1", "example.org")
    assert not same_host("https://example.org.evil.net/x", "example.org")


@pytest.mark.parametrize(
    ("spelling", "normal"),
    [
        ("http://LOCALHOST:8001/users/x", "http://localhost:8001/users/x"),
        ("HTTP://localhost:8001/users/x", "http://localhost:8001/users/x"),
        ("http://localhost.:8001/users/x", "http://localhost:8001/users/x"),
        ("https://example.org:443/users/x", "https://example.org/users/x"),
        ("http://example.org:80/users/x", "http://example.org/users/x"),
        ("https://example.org:/users/x", "https://example.org/users/x"),
        ("http://example.org:443/users/x", "http://example.org:443/users/x"),
        ("https://Gräve.Example/users/x", "https://xn--grve-moa.example/users/x"),
        ("https://[0:0::1]:8443/users/x", "https://[::1]:8443/users/x"),
        # The server's own part is left as written: paths are case-sensitive.
        (
            "https://EXAMPLE.org/Users/X?Page=1#Main-Key",
            "https://example.org/Users/X?Page=1#Main-Key",
        ),
        ("https://example.org", "https://example.org"),
        # Not plainly http(s): left for the checks that refuse it.
        ("mailto:x@example.org", "mailto:x@example.org"),
        (" https://EXAMPLE.org/x", " https://EXAMPLE.org/x"),
    ],
)
def test_one_spelling_of_an_id(spelling, normal):
    assert normalize_uri(spelling) == normal
    assert normalize_uri(normal) == normal
    if normal.startswith("http"):
        assert host_of(spelling) == host_of(normal)
