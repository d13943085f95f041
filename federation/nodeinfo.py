"""NodeInfo 2.1 discovery and document."""

from __future__ import annotations

from typing import Any

from federation.config import FederationConfig

SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"


APPLICATION_REL = "https://www.w3.org/ns/activitystreams#Application"


def discovery(config: FederationConfig, instance_actor_uri: str) -> dict[str, Any]:
    return {
        "links": [
            {"rel": SCHEMA, "href": f"{config.base_url}/nodeinfo/2.1"},
            # FEP-2677: how other servers find the actor that speaks for the whole node.
            {"rel": APPLICATION_REL, "href": instance_actor_uri},
        ]
    }


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
