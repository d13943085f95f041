"""WebFinger (RFC 7033) both ways: answering for our actors, and resolving @name@host."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from federation.client import FetchError, SignedClient
from federation.media_types import JRD

AS2_TYPES = {
    "application/activity+json",
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
}
HANDLE = re.compile(r"^@?(?P<name>[^@\s/]+)@(?P<host>[^@\s/]+)$")


def parse_handle(handle: str) -> tuple[str, str]:
    """`@name@host`, `name@host` or `acct:name@host` -> (name, host)."""
    text = handle.strip()
    if text.startswith("acct:"):
        text = text[5:]
    match = HANDLE.match(text)
    if match is None:
        raise ValueError(f"not a fediverse handle (expected @name@host): {handle!r}")
    return unquote(match["name"]), match["host"].lower()


def jrd(
    *, subject: str, actor_uri: str, profile_url: str | None, aliases: list[str]
) -> dict[str, Any]:
    links: list[dict[str, Any]] = [
        # Mastodon requires this href to equal the actor's id exactly.
        {"rel": "self", "type": "application/activity+json", "href": actor_uri},
    ]
    if profile_url:
        links.append(
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": profile_url,
            }
        )
    return {"subject": subject, "aliases": aliases, "links": links}


def host_meta(base_url: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{base_url}/.well-known/webfinger?resource={{uri}}"/>\n'
        "</XRD>\n"
    )


async def lookup(client: SignedClient, handle: str) -> str:
    """The actor id a handle names, by its host's WebFinger."""
    name, host = parse_handle(handle)
    scheme = "http" if client.config.allow_local else "https"
    url = (
        f"{scheme}://{host}/.well-known/webfinger?resource="
        f"{quote(f'acct:{name}@{host}', safe=':@')}"
    )
    document = await client.get_json(url, accept=JRD)
    for link in document.get("links") or []:
        if (
            isinstance(link, dict)
            and link.get("rel") == "self"
            and link.get("type") in AS2_TYPES
            and isinstance(link.get("href"), str)
        ):
            href: str = link["href"]
            if urlsplit(href).scheme not in ("http", "https"):
                break
            return href
    raise FetchError(url, f"no ActivityPub actor for {name}@{host}")
