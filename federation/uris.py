"""Ids and hosts in one spelling, so that one actor or server is never two.

`http://LOCALHOST:8001/users/x`, `http://localhost:8001/users/x`, `https://example.org./x`
and `https://example.org:443/x` each name one thing in two spellings; compared as text they
would make two followers, or let a host pass for another (Mastodon CVE-2023-42451). Every id
we store and every host we compare goes through here.
"""

from __future__ import annotations

import functools
import ipaddress
from urllib.parse import urlsplit

import idna

DEFAULT_PORTS = {"http": "80", "https": "443"}


def _host(host: str) -> str:
    if host.startswith("[") and host.endswith("]"):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            return host.lower()
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]  # the root of the DNS: "example.org." is "example.org"
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        return host


def _authority(netloc: str, scheme: str) -> str:
    """host[:port], lower-cased, IDNA-encoded, without a trailing dot or the default port.

    Userinfo stays (as written): an id with one never matches a plain host.
    """
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):
        end = hostport.find("]") + 1
        host, port = hostport[:end], hostport[end:]
    else:
        host, colon, port = hostport.partition(":")
        port = colon + port
    if port.startswith(":"):
        digits = port[1:]
        if digits.isascii() and digits.isdigit():
            digits = str(int(digits))
        port = "" if digits in ("", DEFAULT_PORTS.get(scheme)) else f":{digits}"
    return f"{userinfo}{at}{_host(host) if host else host}{port.lower()}"


# Cached: every inbox POST asks for the hosts of the same few actors and keys several times.
@functools.lru_cache(maxsize=4096)
def host_of(uri: str) -> str:
    """The authority part (host[:port]) in its one spelling: what origin checks compare."""
    parts = urlsplit(uri)
    return _authority(parts.netloc, parts.scheme.lower())


@functools.lru_cache(maxsize=4096)
def normalize_uri(uri: str) -> str:
    """An http(s) id with its scheme and authority in their one spelling; the rest as written.

    Path, query and fragment are the server's to interpret and stay untouched. Text that does
    not parse plainly as http(s) is returned as it is (it is refused elsewhere).
    """
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.netloc:
        return uri
    rest = f"://{parts.netloc}"
    if uri[: len(scheme)].lower() != scheme or not uri.startswith(rest, len(scheme)):
        return uri  # urlsplit dropped characters (whitespace, tabs): not ours to repair
    return f"{scheme}://{_authority(parts.netloc, scheme)}{uri[len(scheme) + len(rest) :]}"


def same_host(uri: str, host: str) -> bool:
    """host_of(uri) == host, for a `host` as host_of gives it: an inbox asks it of every id.

    An id written `http(s)://{host}/...` cannot name another authority whatever follows; any
    other spelling (letter case, userinfo, a dot, a port, no path, stray characters) takes the
    full parse. So does a host ending in a port that is the default of one of the schemes:
    `https://h:443/` is `h`, while `http://h:443/` is `h:443`.
    """
    if uri.startswith(("https://", "http://")) and not host.endswith((":80", ":443")):
        start = uri.index("//") + 2
        if uri.startswith(host, start) and uri.startswith("/", start + len(host)):
            return True
    return host_of(uri) == host
