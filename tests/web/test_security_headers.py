"""Every answer tells the browser to run no script but ours, never to frame us, not to sniff."""

from __future__ import annotations

import httpx

from web.security_headers import CONTENT_SECURITY_POLICY

EXPECTED = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def test_the_policy_allows_no_inline_script_and_no_framing():
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert "script-src" not in directives  # default-src 'self': no inline, no other origin
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["object-src"] == "'none'"


ANSWERS = [
    ("GET", "/", {}, 200),
    ("GET", "/actions", {}, 200),
    ("GET", "/actors/workers", {}, 200),
    ("GET", "/actors/workers", {"Accept": "application/activity+json"}, 200),
    ("GET", "/static/site.css", {}, 200),
    ("GET", "/admin/login", {}, 200),
    ("GET", "/admin", {}, 303),
    ("GET", "/nowhere", {}, 404),
    ("GET", "/.well-known/nodeinfo", {}, 200),
    ("POST", "/inbox", {"Content-Type": "application/activity+json"}, 400),
    ("GET", "/inbox", {}, 405),
]


async def test_every_kind_of_answer_carries_the_headers(start_node):
    node = await start_node("workers")
    async with httpx.AsyncClient() as http:
        for method, path, headers, status in ANSWERS:
            response = await http.request(method, node.url(path), headers=headers, content=b"{")
            assert response.status_code == status, (method, path)
            for name, value in EXPECTED.items():
                assert response.headers.get(name) == value, (path, name)
            # Plain http (development): HSTS would be ignored, or pin a browser to no https.
            assert "strict-transport-security" not in response.headers


async def test_hsts_when_the_node_is_served_over_https(start_node):
    node = await start_node("workers", env={"IWSN_SCHEME": "https"})
    async with httpx.AsyncClient() as http:
        page = await http.get(node.url("/"))
        inbox = await http.post(node.url("/inbox"), content=b"{")
    for response in (page, inbox):
        assert response.headers["strict-transport-security"] == "max-age=31536000"
        assert response.headers["x-content-type-options"] == "nosniff"
