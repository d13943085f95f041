"""The countries an action or an alert can be in: ISO 3166-1 alpha-2 codes, named by Babel.

Babel (CLDR) names more than countries: world regions ("001"), groupings ("EU", "EZ", "UN",
"QO"), pseudo-locales ("XA", "XB"), "unknown" ("ZZ") and places ISO only reserves a code for
because they belong to another country ("IC" the Canary Islands are Spain, "AC", "CP", "CQ",
"DG", "EA", "TA"). None of them is a country one marches in.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from babel import Locale

_NOT_COUNTRIES = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)
# The 249 codes ISO 3166-1 assigns, and Kosovo: "XK" is user-assigned, but it is the code the
# EU, CLDR and the fediverse use for it, and nodes there raise alerts with it.
CODES: frozenset[str] = frozenset(
    code
    for code in map(str, Locale("en").territories)
    if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
)


def normalize(text: str | None) -> str | None:
    """ "pt", " PT " → "PT"; None when nothing was given. Not checked: see `known`."""
    text = (text or "").strip().upper()
    return text or None


def known(code: str) -> bool:
    return code in CODES


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def name(code: str, lang: str = "en") -> str:
    """The country's name in `lang` ("Alemania" for DE in Spanish); the code if unknown."""
    return _locale(lang).territories.get(code, code)


def sort_key(text: str) -> str:
    """How names sort in a list, in any language: "Åland Islands" with the A's, as a person
    looking for it expects."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@cache
def choices(lang: str = "en") -> list[tuple[str, str]]:
    """(code, name in `lang`) of every country, by name: a form's select."""
    return sorted(((code, name(code, lang)) for code in CODES), key=lambda pair: sort_key(pair[1]))
