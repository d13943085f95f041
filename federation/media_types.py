"""What a fetch asks for, and whether the answer's Content-Type is one of those.

A document is only as trustworthy as the promise its server makes in Content-Type: a server
that lets its users upload files would otherwise serve a forged actor or object under its own
name as `text/plain` or `text/html` (Mastodon CVE-2024-25623).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value

AS_NAMESPACE = "https://www.w3.org/ns/activitystreams"


@dataclass(frozen=True)
class MediaType:
    """A type we accept; with `profile`, only answers that name that profile among theirs."""

    name: str
    profile: str | None = None

    @property
    def header(self) -> str:
        return self.name if self.profile is None else f'{self.name}; profile="{self.profile}"'


@dataclass(frozen=True)
class Accepted:
    types: tuple[MediaType, ...]

    @property
    def header(self) -> str:
        """The `Accept` header that asks for these types."""
        return ", ".join(media_type.header for media_type in self.types)

    def admits(self, content_type: str | None) -> bool:
        if not content_type:
            return False
        name, profiles = parse_content_type(content_type)
        return any(
            name == media_type.name
            and (media_type.profile is None or media_type.profile in profiles)
            for media_type in self.types
        )


def parse_content_type(value: str) -> tuple[str, list[str]]:
    """(lower-cased type/subtype, the URIs of its `profile` parameter) of a Content-Type."""
    message = Message()
    message["content-type"] = value
    # A value that is not type/subtype reads as text/plain, which no fetch accepts.
    name = message.get_content_type()
    profile = message.get_param("profile")
    if not profile:
        return name, []
    text = collapse_rfc2231_value(profile) if isinstance(profile, tuple) else profile
    # RFC 6906: the value is a space-separated list of URIs.
    return name, text.split()


# ActivityStreams documents: what actors, keys and objects must be served as.
AS2 = Accepted(
    (MediaType("application/activity+json"), MediaType("application/ld+json", AS_NAMESPACE))
)
# WebFinger (RFC 7033) answers; some servers send plain JSON.
JRD = Accepted((MediaType("application/jrd+json"), MediaType("application/json")))
