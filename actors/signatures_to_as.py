"""The call's signatures as ActivityStreams: a count any peer can read, and the organizations
that chose to be shown.

This mapper is given `PublicSignatures` only, never a row of the signatures table: whatever a
signer did not choose to make public (their e-mail above all) cannot reach the wire from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from federation.as2 import AS_CONTEXT, PUBLIC, public_activity
from federation.models import LocalActor

PATH = "/signatures"
# The most organizations one document lists; the count is always the whole count.
MAX_ITEMS = 500

CONTEXT: list[Any] = [
    AS_CONTEXT,
    {
        "iwsn": "https://iwsn.network/ns#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "callSignatures": {"@id": "iwsn:callSignatures", "@type": "xsd:boolean"},
        "organizationKind": "iwsn:organizationKind",
        "country": "iwsn:country",
    },
]


@dataclass(frozen=True)
class PublicOrganization:
    name: str
    kind: str
    website: str | None
    country: str | None


@dataclass(frozen=True)
class PublicSignatures:
    """What anyone may know of this node's signatures."""

    total: int
    organizations: list[PublicOrganization]
    updated: datetime


def _precise(moment: datetime) -> str:
    """To the millisecond: two changes of the count within one second must still be ordered."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def collection_uri(base_url: str) -> str:
    return f"{base_url}{PATH}"


def collection(base_url: str, instance: LocalActor, public: PublicSignatures) -> dict[str, Any]:
    """The signatures collected on this node: `totalItems` counts the confirmed ones."""
    items: list[dict[str, Any]] = []
    for org in public.organizations[:MAX_ITEMS]:
        item: dict[str, Any] = {"type": "Organization", "name": org.name}
        item["organizationKind"] = org.kind
        if org.website:
            item["url"] = org.website
        if org.country:
            item["country"] = org.country
        items.append(item)
    return {
        "id": collection_uri(base_url),
        "type": "OrderedCollection",
        "callSignatures": True,
        "attributedTo": instance.uri,
        "to": [PUBLIC],
        "url": collection_uri(base_url),
        "updated": _precise(public.updated),
        "totalItems": public.total,
        "orderedItems": items,
    }


def update(
    base_url: str,
    new_id: Callable[[], str],
    instance: LocalActor,
    public: PublicSignatures,
) -> dict[str, Any]:
    """The `Update` that tells followers the count changed."""
    return public_activity(
        "Update",
        new_id(),
        instance,
        collection(base_url, instance, public),
        context=CONTEXT,
        published=public.updated,
    )
