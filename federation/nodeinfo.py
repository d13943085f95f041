"""NodeInfo 2.1 discovery and document."""

from __future__ import annotations

from typing import Any

from federation.config import FederationConfig

SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"


def discovery(config: FederationConfig) -> dict[str, Any]:
    return {"links": [{"rel": SCHEMA, "href": f"{config.base_url}/nodeinfo/2.1"}]}


def document(
    config: FederationConfig,
    *,
    users: int,
    local_posts: int,
    metadata: dict[str, Any],
    instance_actor_uri: str,
) -> dict[str, Any]:
    return {
        "version": "2.1",
        "software": {
            "name": config.software_name,
            "version": config.software_version,
            "homepage": config.base_url,
        },
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": False,
        "usage": {
            "users": {"total": users, "activeMonth": users, "activeHalfyear": users},
            "localPosts": local_posts,
        },
        # FEP-2677: where the instance actor lives.
        "metadata": {**metadata, "staffAccounts": [], "instanceActor": instance_actor_uri},
    }
