"""Which remote-supplied URLs may become links: http(s) only, written so browsers agree.

A URL from another server ends up in an `href` (a reply's link, an event's online link, an
organizer, an alert's sources). `javascript:` and `data:` run in our origin when clicked, and
browsers are lenient: they drop tabs and newlines anywhere in a URL and spaces and control
characters around it, so "java\\tscript:" is a script. We refuse every such character instead
of guessing how a browser reads it; what is left starts with http:// or https://, which every
parser agrees is the scheme.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

__all__ = ["MAX_URL_LENGTH", "http_url"]

MAX_URL_LENGTH = 2048
# C0 controls, space, DEL and the C1 controls: nothing a link needs, all things parsers bend.
_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f]")


def http_url(value: Any, *, max_length: int = MAX_URL_LENGTH) -> str | None:
    """`value` if it is an absolute http(s) URL with a host, safe to put in an href; else None.

    The URL is returned as given (not re-encoded): it is also an id other servers compare.
    """
    if not isinstance(value, str) or not value or len(value) > max_length:
        return None
    if _UNSAFE.search(value) or not value[:8].lower().startswith(("http://", "https://")):
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return value
