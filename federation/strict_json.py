"""JSON from strangers, read strictly and within bounds, before anything else looks at it.

`json.loads` accepts what no server should send and what the rest of the node cannot store or
walk safely: nesting hundreds deep (a RecursionError past about a thousand), arrays of a
hundred thousand entries in a 1 MiB body. The bounds are checked without a second walk of the
common document: counting brackets and commas in the raw bytes (at C speed) proves most
documents within them, and only the rest are walked.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

# Real activities nest a handful of levels (an Announce of a Create of a Note with its tags and
# @context is under 10); 64 leaves room for any honest extension.
MAX_DEPTH = 64
# Per array (and per object's members). Audiences of many people travel as a followers
# collection, not one id each; a Mastodon status of 500 characters cannot mention or tag more
# than about 150 accounts or hashtags, and servers with longer posts still send a few hundred
# at most. A thousand is several times what any honest sender needs, and keeps what one body
# can make the handlers loop over small.
MAX_ITEMS = 1000


class Refusal(StrEnum):
    NOT_JSON = "not_json"
    TOO_DEEP = "too_deep"
    TOO_MANY_ITEMS = "too_many_items"


class JSONRefused(ValueError):
    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message


def loads(body: bytes) -> Any:
    """Parse `body` (UTF-8, -16 or -32, as RFC 8259 and `json.loads` allow) within the bounds."""
    try:
        # Strict, where json.loads would let surrogates encoded as bytes through.
        text = body.decode(json.detect_encoding(body))
    except UnicodeDecodeError as exc:
        raise JSONRefused(Refusal.NOT_JSON, f"body is not valid Unicode text: {exc}") from None
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:
        raise JSONRefused(Refusal.NOT_JSON, f"body is not valid JSON: {exc}") from None
    # An escaped surrogate is legal JSON only in a pair, which json.loads joins into one
    # character; a lone one cannot be stored as text (PostgreSQL refuses it) nor shown.
    if b"\\" in body and ("\\ud" in text or "\\uD" in text) and _has_lone_surrogate(value):
        raise JSONRefused(Refusal.NOT_JSON, "body has a string with a lone UTF-16 surrogate")
    # A container of n items holds n - 1 commas and each level opens a bracket; stray ones in
    # strings only make these counts larger, so a body under both limits is within bounds.
    # Most activities have fewer than MAX_DEPTH of all three together: one pass shows it.
    if len(body) - len(body.translate(None, b",[{")) > MAX_DEPTH and (
        body.count(b",") >= MAX_ITEMS or body.count(b"[") + body.count(b"{") > MAX_DEPTH
    ):
        _check_bounds(value)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (RFC 8259)")


def _has_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# One decoder for every call: json.loads builds a new one whenever it is given an option.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _too_deep() -> JSONRefused:
    return JSONRefused(Refusal.TOO_DEEP, f"JSON nested deeper than {MAX_DEPTH} levels")


def _check_bounds(value: Any) -> None:
    if not isinstance(value, dict | list):
        return
    # A stack, not recursion: the depth is what is being checked.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > MAX_DEPTH:
            raise _too_deep()
        if len(children) > MAX_ITEMS:
            raise JSONRefused(
                Refusal.TOO_MANY_ITEMS, f"a JSON array or object has more than {MAX_ITEMS} items"
            )
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
