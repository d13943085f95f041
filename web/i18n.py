"""The visitor's language: catalogs read once per process, one language chosen per page.

`?lang=xx` (then remembered in a cookie) wins over the `lang` cookie, which wins over the
browser's Accept-Language; English is the fallback. Only pages ask: `Templates.render` and
the few routes that word dates or countries call `language(request)`, so ActivityPub,
feeds and the inbox never pay for any of it (no middleware).

The catalogs are the `.po` files under `locales/`, compiled in memory at startup: no build
step, and no binary files in git. A language is available once its directory exists.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import quote, urlencode

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.dates import format_date, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request
from starlette.responses import Response

from actors import countries

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"
DEFAULT = "en"
PARAMETER = COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# Enough for any real browser; a longer header is not worth parsing.
MAX_PREFERENCES = 20

_ENGLISH = NullTranslations()
# The translations of the page being rendered. A context variable, so that concurrent
# requests (each its own task) never see one another's language.
_active: ContextVar[NullTranslations] = ContextVar("iwsn_translations", default=_ENGLISH)
_active_language: ContextVar[str] = ContextVar("iwsn_language", default=DEFAULT)


def _compile(path: Path, lang: str) -> Translations:
    with path.open("rb") as source:
        catalog = read_po(source, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # skips fuzzy and untranslated entries: they stay English
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@cache
def catalogs() -> dict[str, NullTranslations]:
    """Every available language and its translations, English first; read once per process."""
    found: dict[str, NullTranslations] = {DEFAULT: _ENGLISH}
    for path in sorted(LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        lang = path.parent.parent.name
        found[lang] = _compile(path, lang)
    return found


@cache
def locale(lang: str) -> Locale:
    return Locale.parse(lang)


@cache
def languages() -> list[tuple[str, str]]:
    """(code, the language's name in itself), in the order of those names."""
    names = [(lang, _own_name(lang)) for lang in catalogs()]
    return sorted(names, key=lambda pair: pair[1].casefold())


def language_name(code: str, lang: str) -> str:
    """The name of the language `code` ("pt-BR") in the page's language `lang`."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(locale(lang)) or code
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]


def _own_name(lang: str) -> str:
    name = locale(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:]  # "español" as a choice in a list: "Español"


def _known(value: str | None) -> str | None:
    """An available language from `?lang=` or the cookie: "es", "pt-BR" (→ pt), else None."""
    value = (value or "").strip().lower().replace("_", "-")
    for candidate in (value, value.split("-", 1)[0]):
        if candidate in catalogs():
            return candidate
    return None


def preferences(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:MAX_PREFERENCES]):
        tag, _, params = item.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _quality, _position, tag in sorted(weighted)]


def _choose(request: Request) -> tuple[str, str]:
    chosen = _known(request.query_params.get(PARAMETER))
    if chosen:
        return chosen, "parameter"
    chosen = _known(request.cookies.get(COOKIE))
    if chosen:
        return chosen, "cookie"
    wanted = preferences(request.headers.get("accept-language", ""))
    # pt-BR → pt, es-419 → es: babel falls back to the language part of a tag.
    found = negotiate_locale(wanted, list(catalogs()), sep="-", aliases={})
    return (found.lower() if found else DEFAULT), "header"


def language(request: Request) -> str:
    """The language of the page for this request (worked out once per request)."""
    chosen = getattr(request.state, "language", None)
    if chosen is None:
        chosen = _choose(request)
        request.state.language = chosen
    return chosen[0]


def translations(lang: str) -> NullTranslations:
    return catalogs().get(lang, _ENGLISH)


@contextmanager
def active(lang: str) -> Iterator[None]:
    """Translate into `lang` for the duration of the block (rendering a page)."""
    token = _active.set(translations(lang))
    language_token = _active_language.set(lang if lang in catalogs() else DEFAULT)
    try:
        yield
    finally:
        _active_language.reset(language_token)
        _active.reset(token)


def current() -> str:
    """The language of the page being rendered (English outside of one)."""
    return _active_language.get()


def gettext(message: str) -> str:
    return _active.get().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _active.get().ngettext(singular, plural, n)


def translate(message: str, lang: str | None = None) -> str:
    """`message` in `lang`, or in the language of the page being rendered."""
    if lang is None:
        return gettext(message)
    return translations(lang).gettext(message)


def format_age(age: timedelta, lang: str) -> str:
    """How long ago, as the language says it: "3 minutes ago", "há 3 minutos"."""
    return format_timedelta(-age, locale=locale(lang), add_direction=True, threshold=1.0)


def format_day(day: date, lang: str) -> str:
    """ "Monday, 8 March 2027", "lunes, 8 de marzo de 2027": a date with its weekday."""
    return format_date(day, format="full", locale=locale(lang))


def country_name(code: str, lang: str) -> str:
    return countries.name(code, lang)


def switcher(request: Request) -> list[dict[str, object]]:
    """A link to this same page in every language, other query parameters kept."""
    current = language(request)
    # One leading slash: "//host" would send the visitor to another site.
    path = "/" + quote(request.url.path).lstrip("/")
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != PARAMETER]
    return [
        {
            "code": code,
            "name": name,
            "href": f"{path}?{urlencode([*kept, (PARAMETER, code)])}",
            "current": code == current,
        }
        for code, name in languages()
    ]


def _scheme(request: Request) -> str:
    node = getattr(request.app.state, "node", None)
    return node.settings.scheme if node is not None else request.url.scheme


def finish(request: Request, response: Response) -> None:
    """What a page in a negotiated language tells the browser and caches."""
    language(request)
    lang, source = request.state.language
    if source == "parameter":
        # The choice is in the URL; remember it for the pages that follow.
        response.set_cookie(
            COOKIE,
            lang,
            max_age=COOKIE_MAX_AGE,
            path="/",
            samesite="lax",
            secure=_scheme(request) == "https",
        )
    else:
        wanted = ["Accept-Language", "Cookie"]
        if getattr(request.scope.get("session"), "accessed", False):
            wanted.remove("Cookie")  # the session middleware adds it on its way out
        vary = [v.strip() for v in response.headers.get("vary", "").split(",") if v.strip()]
        vary += [h for h in wanted if h.lower() not in {v.lower() for v in vary}]
        response.headers["Vary"] = ", ".join(vary)
    response.headers["Content-Language"] = lang
