"""Headers every answer carries so a browser limits what a page of ours can do.

Pages show text from other servers. Sanitizing it is the first wall; the Content-Security-Policy
is the second: no script runs but our own files (the map on /near: Leaflet and near.js), no
inline script or style, no page of ours can be framed (clickjacking the admin), forms post only
here, and `<base>` cannot re-aim relative links. HSTS only when the node is served over https:
on a plain-http development node it would be ignored, or pin a browser to https on a host that
has none.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def content_security_policy(map_tile_origin: str | None = None) -> str:
    """The policy; with a tile server for the map (IWSN_MAP_TILE_URL), images may also come
    from exactly its origin. Leaflet needs nothing else: it sets styles through the DOM, which
    the policy allows, and the node serves its script and stylesheet."""
    if not map_tile_origin:
        return CONTENT_SECURITY_POLICY
    return f"{CONTENT_SECURITY_POLICY}; img-src 'self' {map_tile_origin}"


# Browsers keep HSTS for this long (a year); no includeSubDomains: other hosts under the
# node's domain are not ours to decide for.
HSTS = "max-age=31536000"


def security_headers(https: bool, map_tile_origin: str | None = None) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", content_security_policy(map_tile_origin).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        # Links to other servers tell them the site, never the page (a leave link has a token).
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
    ]
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeaders:
    """Adds the headers to every HTTP answer that does not set its own."""

    def __init__(self, app: ASGIApp, *, https: bool, map_tile_origin: str | None = None) -> None:
        self.app = app
        self.headers = security_headers(https, map_tile_origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in self.headers if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
