"""Reports from other servers, as our domain: lenient in what we read, strict in what we keep.

Any public `Article` that is not a reply is a report when it comes from an organization or
node we follow (`actors.remote_reports` decides that). Texts are cut to the lengths our own
reports keep to; the body is sanitized HTML, read from at most `MAX_REMOTE_HTML` characters
of what was sent, so a huge article costs us no more than a long one.
"""

from __future__ import annotations

from typing import Any

from actors import hashtags
from actors.call import EXTENSIONS, MAX_ALT
from actors.reports import MAX_BODY, MAX_RELATED, MAX_SUMMARY, MAX_TAGS, MAX_TITLE, language_tag
from actors.text import one_line, plain_text, sanitize_html
from actors.urls import http_url
from federation.as2 import first_id, parse_datetime
from federation.db import utcnow
from federation.uris import host_of

# Markup around the text: a report of MAX_BODY characters may take twice that in HTML.
MAX_REMOTE_HTML = 2 * MAX_BODY
# Languages kept besides the report's own: enough for any network, not a way to send megabytes.
MAX_TRANSLATIONS = 8


class NotAReport(ValueError):
    pass


def is_report(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and document.get("type") == "Article"
        and not document.get("inReplyTo")
    )


def _first_of_map(document: dict[str, Any], name: str) -> tuple[str | None, Any]:
    values = document.get(f"{name}Map")
    if isinstance(values, dict) and values:
        language, value = next(iter(values.items()))
        return (language if isinstance(language, str) else None), value
    return None, None


def report_fields(document: dict[str, Any]) -> dict[str, Any]:
    """Columns of `Report` for a remote report; raises NotAReport when it cannot be one."""
    uri = document.get("id")
    if http_url(uri) is None:
        raise NotAReport("the report has no http(s) id")
    attributed = http_url(first_id(document.get("attributedTo")))
    if attributed is None or host_of(attributed) != host_of(uri):
        raise NotAReport("the report is not attributed to an actor of its own server")
    content_language, mapped_content = _first_of_map(document, "content")
    _name_language, mapped_name = _first_of_map(document, "name")
    title = one_line(document.get("name"), MAX_TITLE) or one_line(mapped_name, MAX_TITLE)
    if not title:
        raise NotAReport("the report has no title")
    content = document.get("content")
    if not isinstance(content, str) or not content.strip():
        content = mapped_content if isinstance(mapped_content, str) else ""
    body_html = sanitize_html(content[:MAX_REMOTE_HTML], headings=True)
    if not body_html:
        raise NotAReport("the report has no text")
    _summary_language, mapped_summary = _first_of_map(document, "summary")
    summary = document.get("summary")
    if not isinstance(summary, str):
        summary = mapped_summary if isinstance(mapped_summary, str) else ""
    names = []
    for tag in document.get("tag") or []:
        if isinstance(tag, dict) and tag.get("type") == "Hashtag":
            name = hashtags.normalize(str(tag.get("name", "")))
            if name:
                names.append(name[:64])
    about = document.get("about")
    if not isinstance(about, list):
        about = [about] if about else []
    related = [link for item in about if (link := http_url(first_id(item)))][:MAX_RELATED]
    language = language_tag(content_language) or language_tag(
        document.get("inLanguage") if isinstance(document.get("inLanguage"), str) else None
    )
    published = parse_datetime(document.get("published")) or utcnow()
    image_url, image_type, image_alt = _image(document)
    return {
        "image_url": image_url,
        "image_type": image_type,
        "image_alt": image_alt,
        "translations": _translations(document, language, title),
        "uri": uri,
        "url": http_url(first_id(document.get("url"))) or uri,
        "origin_actor_uri": attributed,
        "origin_host": host_of(uri),
        "title": title,
        # The origin's summary may be HTML or plain: kept as plain text either way.
        "summary": " ".join(plain_text(summary).split())[:MAX_SUMMARY],
        "body_html": body_html,
        "language": language,
        "hashtags": list(dict.fromkeys(names))[:MAX_TAGS],
        "related": related,
        "published_at": published,
        "updated_at": parse_datetime(document.get("updated")) or published,
    }


def _translations(
    document: dict[str, Any], language: str | None, title: str
) -> dict[str, dict[str, str]]:
    """The other languages of `contentMap`, each with its own title and summary if given."""
    contents = document.get("contentMap")
    if language is None or not isinstance(contents, dict):
        return {}
    names = document.get("nameMap")
    names = names if isinstance(names, dict) else {}
    summaries = document.get("summaryMap")
    summaries = summaries if isinstance(summaries, dict) else {}
    found: dict[str, dict[str, str]] = {}
    for code, content in contents.items():
        tag = language_tag(code) if isinstance(code, str) else None
        if tag is None or tag == language or tag in found or not isinstance(content, str):
            continue
        body_html = sanitize_html(content[:MAX_REMOTE_HTML], headings=True)
        if not body_html:
            continue
        summary = summaries.get(code)
        found[tag] = {
            "title": one_line(names.get(code), MAX_TITLE) or title,
            "summary": " ".join(plain_text(summary).split())[:MAX_SUMMARY]
            if isinstance(summary, str)
            else "",
            "body_html": body_html,
        }
        if len(found) == MAX_TRANSLATIONS:
            break
    return found


def _image(document: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """The report's image: its `image`, else its first image attachment; kept as an http(s)
    address at the origin with its alt text, never fetched."""
    candidates: list[Any] = []
    for name in ("image", "attachment"):
        value = document.get(name)
        candidates.extend(value if isinstance(value, list) else [value])
    for candidate in candidates:
        if not isinstance(candidate, dict):
            continue
        kind = candidate.get("mediaType")
        if candidate.get("type") not in ("Image", "Document") and kind not in EXTENSIONS:
            continue
        url = http_url(first_id(candidate.get("url")) or candidate.get("href"))
        if url is None:
            continue
        return url, kind if kind in EXTENSIONS else None, one_line(candidate.get("name"), MAX_ALT)
    return None, None, None
