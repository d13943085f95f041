"""The one rule for what is a hashtag: ours and those received, how long, when two are one.

Below everything that stores tags (actions, days, alerts, their AS2 mappings), so each of them
checks and matches tags the same way; what a tag gathers on this node is `actors.tags`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from actors.errors import Message, Problems

# Mastodon's Tag::HASHTAG_NAME_RE (app/models/tag.rb) in Onigmo terms:
#   [[:word:]_][[:word:]SEP]*[[:alpha:]SEP][[:word:]SEP]*[[:word:]_]
#   | [[:word:]_]*[[:alpha:]][[:word:]_]*
# with SEP = "_", "·", "・", ZWNJ. Python's \w lacks combining marks (so it rejects Devanagari,
# Thai, ... tags Mastodon accepts), hence character categories instead of `re`.
_SEPARATORS = frozenset("_\u00b7\u30fb\u200c")
# Ours, not Mastodon's: a tag is a word, not a paragraph smuggled into every event.
MAX_LENGTH = 100
# Ours when we publish: Mobilizon drops longer tags, so an event would reach it without them.
MAX_OWN_LENGTH = 39


def _is_word(char: str) -> bool:
    # Onigmo [[:word:]]: Letter, Mark, Decimal_Number, Connector_Punctuation.
    category = unicodedata.category(char)
    return category[0] in "LM" or category in ("Nd", "Pc")


def _is_alpha(char: str) -> bool:
    # [[:alpha:]] is Unicode Alphabetic; among word characters that is the letters (and a few
    # vowel-sign marks, which never make a tag on their own).
    return char.isalpha()


def _is_hashtag_name(name: str) -> bool:
    if all(_is_word(c) for c in name):
        return any(_is_alpha(c) for c in name)  # only digits and "_" is not a tag ("#1")
    # Separators may only sit inside, between word characters.
    return (
        len(name) >= 3
        and _is_word(name[0])
        and _is_word(name[-1])
        and all(_is_word(c) or c in _SEPARATORS for c in name)
        and any(_is_alpha(c) or c in _SEPARATORS for c in name[1:-1])
    )


def normalize(tag: str) -> str | None:
    """ "#MayDay", "MayDay", " may_day " → "MayDay", "MayDay", "may_day"; None if not a tag.

    Case is kept (it is how the tag is displayed; matching is case-insensitive). The text is
    NFC-normalized so "Grève" typed with a combining accent equals the precomposed one. Anything
    Mastodon would not take as a whole tag (spaces, hyphens, only digits, "##x") is refused
    rather than silently rewritten, so the person can be told.
    """
    name = unicodedata.normalize("NFC", tag.strip())
    if name.startswith("#"):
        name = name[1:]
    if not name or len(name) > MAX_LENGTH or not _is_hashtag_name(name):
        return None
    return name


def key(tag: str) -> str:
    """The form two spellings of one tag share."""
    return unicodedata.normalize("NFC", tag).casefold()


def unique(tags: Iterable[str]) -> list[str]:
    """Each tag once (the first spelling kept); ValueError on one that is not a hashtag."""
    names: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        name = normalize(tag)
        if name is None:
            raise ValueError(f"{tag!r} is not a hashtag")
        if key(name) not in seen:
            seen.add(key(name))
            names.append(name)
    return names


def own(typed: Iterable[str], where: str, problems: Problems) -> list[str]:
    """The tags someone typed for our own content, each once; what is wrong with them goes to
    `problems` under the field `where`."""
    names: list[str] = []
    seen: set[str] = set()
    for raw in typed:
        name = normalize(raw)
        if name is None:
            problems.add(where, Message.NOT_A_HASHTAG, value=raw)
        elif len(name) > MAX_OWN_LENGTH:
            problems.add(where, Message.HASHTAG_TOO_LONG, value=name, limit=MAX_OWN_LENGTH)
        elif key(name) not in seen:
            seen.add(key(name))
            names.append(name)
    return names
