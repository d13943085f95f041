"""The bounds on inbound JSON: exact at the limits, whatever the raw counts suggest."""

from __future__ import annotations

import json

import pytest

from federation.strict_json import MAX_DEPTH, MAX_ITEMS, JSONRefused, Refusal, loads


def nested(levels):
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_depth_is_exact():
    assert loads(json.dumps(nested(MAX_DEPTH)).encode()) == nested(MAX_DEPTH)
    with pytest.raises(JSONRefused) as refused:
        loads(json.dumps(nested(MAX_DEPTH + 1)).encode())
    assert refused.value.refusal is Refusal.TOO_DEEP


def test_items_are_counted_per_array_and_object():
    assert len(loads(json.dumps(list(range(MAX_ITEMS))).encode())) == MAX_ITEMS
    for too_many in (
        {"a": list(range(MAX_ITEMS + 1))},
        {str(n): n for n in range(MAX_ITEMS + 1)},
    ):
        with pytest.raises(JSONRefused) as refused:
            loads(json.dumps(too_many).encode())
        assert refused.value.refusal is Refusal.TOO_MANY_ITEMS


def test_commas_and_brackets_inside_strings_do_not_count():
    document = {"content": "[{," * 5000, "to": ["a", "b"]}
    assert loads(json.dumps(document).encode()) == document


def test_many_small_arrays_are_fine():
    document = {"tag": [[n, n] for n in range(MAX_ITEMS)]}
    assert loads(json.dumps(document).encode()) == document
