"""Where user and remote text becomes safe HTML, and HTML becomes plain text again.

Every string that ends up in a page or an ActivityPub ``content`` passes through here, so the
rules live in one place: an allow-list close to Mastodon's ``MASTODON_STRICT`` (what the rest of
the fediverse expects a post to contain) plus the few block tags an event description needs.
Sanitizing is nh3 (ammonia, a maintained html5ever-based sanitizer); Markdown is markdown-it-py
in CommonMark mode. Neither is re-implemented here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import quote

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from actors.hashtags import unique

__all__ = [
    "description_html",
    "has_markup",
    "hashtag_objects",
    "hashtags_html",
    "link_count",
    "markdown_to_html",
    "one_line",
    "plain_text",
    "reply_html",
    "sanitize_html",
    "text_block",
]

# --- what a public form refuses -------------------------------------------------------------

# A tag, not a comparison: "<b>", "</a>", "<script src=…>", "<!-- -->". "a < b" and "<3" pass.
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!][^<>]*>")
_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)


def has_markup(text: str) -> bool:
    """Whether a form's text holds HTML: a person writing to a node never needs to, and the
    page would show it as text anyway, so saying so beats storing it."""
    return _MARKUP.search(text) is not None


def link_count(text: str) -> int:
    """The links in a text: a few make a message, a list of them is what spam looks like."""
    return len(_LINK.findall(text))


# --- sanitizing -------------------------------------------------------------------------------

_INLINE_TAGS = {"a", "span", "br", "strong", "b", "em", "i", "u", "s", "del", "code"}
_BLOCK_TAGS = {"p", "blockquote", "ul", "ol", "li", "pre"}
# h1 belongs to the page (the event's title); h5/h6 are noise. Headings are kept only where a
# long text has sections (descriptions); replies are posts and get Mastodon's flat shape.
_HEADING_TAGS = {"h2", "h3", "h4"}

# Dropped with everything inside: their text is code, markup or form state, never prose.
_DROP_WITH_CONTENT = {
    "script",
    "style",
    "template",
    "noscript",
    "iframe",
    "object",
    "embed",
    "textarea",
    "select",
    "title",
    "svg",
    "math",
}

# Mastodon keeps microformats and a few layout classes; we keep only those its own markup uses
# (mentions, hashtags, the invisible/ellipsis split of long URLs) so styles can't be hijacked.
_ALLOWED_CLASSES = {
    "a": {"mention", "hashtag", "u-url", "status-link", "unhandled-link"},
    "span": {"h-card", "mention", "hashtag", "invisible", "ellipsis"},
}

# No relative URLs: federated HTML is shown on other hosts, where they would point elsewhere.
_URL_SCHEMES = {"http", "https", "mailto"}

# Unlike Mastodon we add no target="_blank": opening tabs is the reader's choice.
LINK_REL = "nofollow noopener noreferrer"


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    # Markdown "3." lists render <ol start="3">; keep the number, nothing else.
    if tag == "ol" and attribute == "start":
        value = value.strip()
        return value if re.fullmatch(r"[0-9]{1,6}", value) else None
    return value


def _cleaner(tags: set[str], schemes: set[str] = _URL_SCHEMES) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=tags,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes={"a": {"href"}, "ol": {"start"}},
        allowed_classes=_ALLOWED_CLASSES,
        attribute_filter=_attribute_filter,
        link_rel=LINK_REL,
        url_schemes=schemes,
        url_relative="deny",
        strip_comments=True,
    )


_DESCRIPTION_CLEANER = _cleaner(_INLINE_TAGS | _BLOCK_TAGS | _HEADING_TAGS)
_POST_CLEANER = _cleaner(_INLINE_TAGS | _BLOCK_TAGS)
# Replies from anyone in the fediverse: a link may only lead to a web page (no mailto:).
_WEB_POST_CLEANER = _cleaner(_INLINE_TAGS | _BLOCK_TAGS, {"http", "https"})


def sanitize_html(html_text: str, *, headings: bool = True) -> str:
    """Untrusted HTML → HTML safe to embed in our pages and to federate.

    ``headings=True`` (descriptions, local or remote events) keeps h2–h4; pass ``False`` for
    replies and notes. Disallowed tags are unwrapped, their text kept (ammonia cannot rename a
    tag, so ``<div>a</div><div>b</div>`` reads "ab"); script/style and the like are removed
    with their content. Links keep only http(s)/mailto ``href`` (an ``<a>``
    whose URL is refused stays as plain text inside a bare ``<a>``) and always get
    ``rel="nofollow noopener noreferrer"``, which replaces any ``rel`` given (e.g. ``tag``).
    """
    cleaner = _DESCRIPTION_CLEANER if headings else _POST_CLEANER
    return cleaner.clean(html_text).strip()


def reply_html(html_text: str) -> str:
    """A reply from anyone, as a post: no headings, and every link an http(s) one (another
    scheme's ``<a>`` keeps its text without a target)."""
    return _WEB_POST_CLEANER.clean(html_text).strip()


# --- Markdown ---------------------------------------------------------------------------------


def _markdown() -> MarkdownIt:
    # CommonMark with raw HTML off: "<b>" typed by a person is text, shown escaped.
    # breaks=True: organizers type addresses and agendas line by line in a textarea and expect
    # the lines to stay lines (as Mastodon and GitHub comments do).
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True})
    md.enable(["linkify", "strikethrough"])
    # Only URLs with a scheme (and bare e-mail addresses) become links: fuzzy matching turns
    # "e.g." or "file.py" into links nobody meant.
    linkify = md.linkify
    assert linkify is not None  # the "linkify" option above, with linkify-it-py installed
    linkify.set({"fuzzy_link": False})
    # Images are not in the allow-list; link to them by their alt text instead of losing both.
    md.add_render_rule("image", _render_image_as_link)
    return md


def _render_image_as_link(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    src = html.escape(str(token.attrGet("src") or ""))
    alt = html.escape(self.renderInlineAsText(token.children or [], options, env)) or src
    return f'<a href="{src}">{alt}</a>'


_MD = _markdown()


def markdown_to_html(text: str) -> str:
    """Markdown (CommonMark, raw HTML escaped, bare URLs linked) → sanitized HTML."""
    tokens = _MD.parse(text)
    for token in tokens:
        # The page's own <h1> is the event title, so "# Section" becomes <h2>, and so on,
        # down to h4, the deepest level the allow-list keeps.
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 4)}"
    return sanitize_html(_MD.renderer.render(tokens, _MD.options, {}), headings=True)


def description_html(text: str, *, format: Literal["markdown", "html"]) -> str:
    """The domain's entry point: Markdown or HTML in, sanitized HTML out."""
    if format == "markdown":
        return markdown_to_html(text)
    if format == "html":
        return sanitize_html(text, headings=True)
    raise ValueError(f"unknown description format {format!r}")


# --- plain text -------------------------------------------------------------------------------

# Structure plain_text understands; everything else is unwrapped to its text first, so the
# walker below only ever sees well-formed, script-free markup (html5ever's serialization).
_TEXT_BLOCKS = {
    "p",
    "div",
    "blockquote",
    "pre",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "tr",
    "section",
    "article",
    "header",
    "footer",
    "aside",
    "figure",
    "figcaption",
    "address",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
}
_TEXT_CLEANER = nh3.Cleaner(
    tags=_TEXT_BLOCKS | {"br", "td", "th"},
    clean_content_tags=_DROP_WITH_CONTENT,
    attributes={"ol": {"start"}},
    attribute_filter=_attribute_filter,
    link_rel=None,
    strip_comments=True,
)

_Piece = tuple[Literal["text", "pre", "br", "block", "cell"], str]


class _TextCollector(HTMLParser):
    """Turns already-cleaned HTML into pieces: text runs and line/paragraph breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # decodes entities for us
        self.pieces: list[_Piece] = []
        self._pre = 0
        self._lists: list[list[int] | None] = []  # a counter per <ol>, None per <ul>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.pieces.append(("br", ""))
        elif tag in ("td", "th"):
            self.pieces.append(("cell", ""))
        elif tag == "li":
            self.pieces.append(("br", ""))
            counter = self._lists[-1] if self._lists else None
            if counter is None:
                self.pieces.append(("pre", "- "))
            else:
                counter[0] += 1
                self.pieces.append(("pre", f"{counter[0]}. "))
        elif tag in _TEXT_BLOCKS:
            self.pieces.append(("block", ""))
            if tag == "pre":
                self._pre += 1
            elif tag == "ul":
                self._lists.append(None)
            elif tag == "ol":
                start = dict(attrs).get("start")
                self._lists.append([int(start) - 1 if start else 0])

    def handle_endtag(self, tag: str) -> None:
        if tag in _TEXT_BLOCKS and tag != "li":
            self.pieces.append(("block", ""))
            if tag == "pre":
                self._pre = max(self._pre - 1, 0)
            elif tag in ("ul", "ol") and self._lists:
                self._lists.pop()

    def handle_data(self, data: str) -> None:
        self.pieces.append(("pre" if self._pre else "text", data))


def _join(pieces: list[_Piece]) -> str:
    out: list[str] = []
    breaks = 0  # newlines owed before the next text: 1 after <br>, 2 between blocks

    def write(chunk: str, *, verbatim: bool = False) -> None:
        nonlocal breaks
        if breaks and out:
            out[-1] = out[-1].rstrip()  # also the newline a <pre> ends with
            out.append("\n" * breaks)
            if not verbatim:
                chunk = chunk.lstrip(" ")
        breaks = 0
        if chunk:
            out.append(chunk)

    for kind, value in pieces:
        if kind == "text":
            chunk = re.sub(r"\s+", " ", value)
            at_line_start = breaks > 0 or not out or out[-1].endswith(("\n", " "))
            if at_line_start:
                chunk = chunk.lstrip(" ")
            if chunk:
                write(chunk)
        elif kind == "pre":
            write(value, verbatim=True)
        elif kind == "br":
            breaks = min(breaks + 1, 2)
        elif kind == "cell":
            if out and not breaks and not out[-1].endswith((" ", "\n")):
                out.append(" ")
        else:
            breaks = 2
    return "".join(out).strip()


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]  # room for the ellipsis
    if not text[limit - 1].isspace():
        # Back up to the last whitespace so no word is cut in half, unless the text is one
        # long word (a URL), which is then cut where it must be.
        last_space = max(cut.rfind(" "), cut.rfind("\n"))
        if last_space > 0:
            cut = cut[:last_space]
    return cut.rstrip().rstrip(",;:") + "…"


def plain_text(html_text: str, limit: int | None = None) -> str:
    """HTML → readable text for summaries, feeds and iCalendar DESCRIPTION.

    Paragraphs and other blocks are separated by a blank line, ``<br>`` is a newline, list
    items start with "- " or their number, links are their text, entities are decoded and
    whitespace collapsed (kept inside ``<pre>``). With ``limit``, the result is at most that
    many characters, cut on a word boundary and ended with "…".
    """
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1")
    collector = _TextCollector()
    collector.feed(_TEXT_CLEANER.clean(html_text))
    collector.close()
    text = strip_controls(_join(collector.pieces))
    return _truncate(text, limit) if limit is not None else text


# --- invisible controls -------------------------------------------------------------------------

# Bidirectional embeddings, overrides and isolates (U+202A-202E, U+2066-2069) let a name like
# "\u202egnp.exe" show as "exe.png" and spill its direction into what follows it on the page;
# zero-width spaces, direction marks, word joiners and BOMs make two names that look alike differ.
# ZWNJ and ZWJ (U+200C, U+200D) stay: Persian and Indic scripts spell words with them, and emoji
# sequences (👩‍🏭) are joined by ZWJ. Pages isolate names with <bdi> besides.
_INVISIBLE_CONTROLS = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def strip_controls(text: str) -> str:
    """The text without bidi overrides, isolates and zero-width characters that only mislead."""
    return _INVISIBLE_CONTROLS.sub("", text)


def one_line(value: Any, limit: int) -> str | None:
    """A remote value as one line of text, at most `limit` long; None if not text or blank."""
    if not isinstance(value, str):
        return None
    return " ".join(strip_controls(value).split())[:limit] or None


def text_block(value: Any, limit: int) -> str:
    """A remote value as text with its lines kept, at most `limit` long; "" if not text."""
    return strip_controls(value).strip()[:limit] if isinstance(value, str) else ""


def display_name(*candidates: str | None, limit: int = 300) -> str | None:
    """The first of a remote actor's names (name, username, id) that shows something, cleaned."""
    for candidate in candidates:
        name = one_line(candidate, limit)
        if name:
            return name
    return None


# --- hashtags (the rule itself is in actors.tags) --------------------------------------------


def _hashtag_href(name: str, base_url: str) -> str:
    # Lower-cased like Mastodon's tag URLs; non-ASCII percent-encoded so the href is a valid URI.
    return f"{base_url.rstrip('/')}/tags/{quote(name.lower(), safe='')}"


def hashtag_objects(tags: Iterable[str], base_url: str) -> list[dict[str, str]]:
    """AS2 ``tag`` entries. Mastodon matches hashtags by ``name`` and wants the "#" in it."""
    return [
        {"type": "Hashtag", "href": _hashtag_href(name, base_url), "name": f"#{name}"}
        for name in unique(tags)
    ]


def hashtags_html(tags: Iterable[str], base_url: str) -> str:
    """Inline hashtag links as Mastodon writes them, so its UI shows them as hashtags.

    Safe as is; passing it through sanitize_html keeps href, classes and text (``rel`` becomes
    our LINK_REL).
    """
    return " ".join(
        f'<a href="{html.escape(_hashtag_href(name, base_url))}" class="mention hashtag" '
        f'rel="tag">#<span>{html.escape(name)}</span></a>'
        for name in unique(tags)
    )
