"""Paged OrderedCollections, as Mastodon pages followers and outboxes."""

from __future__ import annotations

from typing import Any

from federation.as2 import AS_CONTEXT

PAGE_SIZE = 20


def collection(uri: str, total: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": uri,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if total:
        body["first"] = f"{uri}?page=1"
        body["last"] = f"{uri}?page={last_page(total)}"
    return body


def last_page(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def page(uri: str, number: int, total: int, items: list[Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": f"{uri}?page={number}",
        "type": "OrderedCollectionPage",
        "partOf": uri,
        "totalItems": total,
        "orderedItems": items,
    }
    if number > 1:
        body["prev"] = f"{uri}?page={number - 1}"
    if number < last_page(total):
        body["next"] = f"{uri}?page={number + 1}"
    return body


def page_number(raw: str | None) -> int | None:
    """The ?page= value; None for the collection itself, ValueError for junk."""
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError("page must be a positive integer")
    return int(raw)
