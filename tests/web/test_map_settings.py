"""IWSN_MAP_TILE_URL and IWSN_MAP_ATTRIBUTION: what the map's tile server may be, and the
Content-Security-Policy that lets exactly its origin in (the page itself: test_near_map.py)."""

from __future__ import annotations

import pytest

from web.security_headers import CONTENT_SECURITY_POLICY, content_security_policy
from web.settings import SettingsError, load

PRODUCTION = {"IWSN_DOMAIN": "iwsn.example.org"}
OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
CREDIT = "© OpenStreetMap contributors"


def test_no_tile_server_by_default():
    settings = load(PRODUCTION)
    assert (settings.map_tile_url, settings.map_attribution) == ("", "")
    assert settings.map_tile_origin is None
    assert content_security_policy(settings.map_tile_origin) == CONTENT_SECURITY_POLICY
    # A credit alone asks for nothing.
    assert load({**PRODUCTION, "IWSN_MAP_ATTRIBUTION": CREDIT}).map_tile_url == ""


def test_a_tile_server_and_its_credit():
    settings = load(
        {**PRODUCTION, "IWSN_MAP_TILE_URL": f" {OSM} ", "IWSN_MAP_ATTRIBUTION": f" {CREDIT}\n"}
    )
    assert (settings.map_tile_url, settings.map_attribution) == (OSM, CREDIT)
    assert settings.map_tile_origin == "https://tile.openstreetmap.org"
    policy = content_security_policy(settings.map_tile_origin)
    assert policy == f"{CONTENT_SECURITY_POLICY}; img-src 'self' https://tile.openstreetmap.org"
    # Retina tiles and a port keep one origin.
    ported = load(
        {
            **PRODUCTION,
            "IWSN_MAP_TILE_URL": "https://Tiles.Example.org:8443/osm/{z}/{x}/{y}{r}.png?k=1",
            "IWSN_MAP_ATTRIBUTION": CREDIT,
        }
    )
    assert ported.map_tile_origin == "https://tiles.example.org:8443"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://tile.example.org/{z}/{x}/{y}.png", "must be an https:// URL"),
        ("ftp://tile.example.org/{z}/{x}/{y}.png", "must be an https:// URL"),
        ("tile.example.org/{z}/{x}/{y}.png", "must be an https:// URL"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "must name one host"),
        ("https://user:pw@tile.example.org/{z}/{x}/{y}.png", "must name one host"),
        ("https://tile.example.org:99999/{z}/{x}/{y}.png", "must name one host"),
        ("https:///{z}/{x}/{y}.png", "does not name a host"),
        ("https://tile_example;org/{z}/{x}/{y}.png", "does not name a host"),
        ("https://tile.example.org/{z}/{x}.png", "must hold {z}, {x} and {y}"),
        ("https://tile.example.org/{z}/{x}/{y}.png?a='b'", "must not hold spaces or quotes"),
    ],
)
def test_tile_urls_refused_with_a_reason(url, says):
    with pytest.raises(SettingsError) as refused:
        load({**PRODUCTION, "IWSN_MAP_TILE_URL": url, "IWSN_MAP_ATTRIBUTION": CREDIT})
    assert says in str(refused.value)


def test_plain_http_tiles_only_in_local_development():
    local = load(
        {
            "IWSN_LOCAL_DEV": "1",
            "IWSN_MAP_TILE_URL": "http://127.0.0.1:9000/{z}/{x}/{y}.png",
            "IWSN_MAP_ATTRIBUTION": "test tiles",
        }
    )
    assert local.map_tile_origin == "http://127.0.0.1:9000"
    v6 = load(
        {
            "IWSN_LOCAL_DEV": "1",
            "IWSN_MAP_TILE_URL": "http://[::1]:9000/{z}/{x}/{y}.png",
            "IWSN_MAP_ATTRIBUTION": "test tiles",
        }
    )
    assert v6.map_tile_origin == "http://[::1]:9000"


def test_the_credit_is_required_and_short():
    with pytest.raises(SettingsError, match="IWSN_MAP_ATTRIBUTION is required"):
        load({**PRODUCTION, "IWSN_MAP_TILE_URL": OSM})
    with pytest.raises(SettingsError, match="at most 300 characters"):
        load({**PRODUCTION, "IWSN_MAP_TILE_URL": OSM, "IWSN_MAP_ATTRIBUTION": "x" * 301})
