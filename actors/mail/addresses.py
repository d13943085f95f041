"""What passes for an e-mail address: one mailbox, safe to put in a header, short enough."""

from __future__ import annotations

import re

# RFC 5321: 64 for the local part, 254 for the whole path in practice.
MAX_LENGTH = 254
MAX_LOCAL = 64
# Deliberately plain: a local part without spaces, quotes or angle brackets, and a domain with
# at least one dot. Anything stranger is more likely a typo or an injection than a mailbox.
_ADDRESS = re.compile(r"^[^\s@<>()\[\]\\,;:\"]+@[^\s@<>()\[\]\\,;:\"_]+\.[^\s@<>()\[\]\\,;:\"_.]+$")


def normalized(text: str) -> str | None:
    """The address as it will be stored and sent (trimmed, its domain lower-cased), or None
    when it is not one. Control characters (a CR/LF smuggling a header in) never pass."""
    value = text.strip()
    if not value or len(value) > MAX_LENGTH or not value.isprintable():
        return None
    if not _ADDRESS.match(value):
        return None
    local, _, domain = value.rpartition("@")
    if len(local) > MAX_LOCAL or ".." in domain or domain.startswith(("-", ".")):
        return None
    return f"{local}@{domain.lower()}"


def listed(text: str) -> tuple[list[str], list[str]]:
    """Addresses separated by commas, semicolons or line breaks: (good ones, bad ones)."""
    good: list[str] = []
    bad: list[str] = []
    for item in re.split(r"[,;\s]+", text):
        if not item:
            continue
        address = normalized(item)
        if address is None:
            bad.append(item)
        elif address not in good:
            good.append(address)
    return good, bad
