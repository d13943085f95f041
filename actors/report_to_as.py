"""Our reports as ActivityStreams: the `Article`, its `Tombstone`, and the activities around it.

Mastodon converts an `Article` instead of showing it whole: it builds the post from `name`,
`summary` and the `url` (its own HTML page, when on the author's server), linkified as plain
text, and ignores `content` (app/lib/activitypub/activity/create.rb, `CONVERTED_TYPES`; older
versions put `summary` in the content warning instead). So `name` is the title, `summary` a
short plain text (escaped, never markup: Mastodon would show tags as text), and `url` the
report's page here; the whole text is in `content` for readers that show articles (iwsn
nodes, Misskey, Lemmy, WordPress readers). See docs/federation.md, "Reports".
"""

from __future__ import annotations

import html
from functools import partial
from typing import Any

from actors.event_to_as import EVENT_CONTEXT
from actors.models import Report
from actors.text import hashtag_objects
from federation import as2
from federation.as2 import IdFactory
from federation.models import LocalActor

REPORT_CONTEXT: list[Any] = [
    EVENT_CONTEXT[0],
    {
        **EVENT_CONTEXT[1],
        # What the report is about: ids of actions, assemblies, alerts and days.
        "about": {"@id": "iwsn:about", "@type": "@id", "@container": "@set"},
        "sensitive": "as:sensitive",
    },
]


def article(base_url: str, report: Report, actor: LocalActor) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": report.uri,
        "type": "Article",
        "name": report.title,
        "content": report.body_html,
        "mediaType": "text/html",
        "url": report.url or report.uri,
        **as2.public_fields(actor, report.published_at, report.updated_at),
        "sensitive": False,
        "tag": hashtag_objects(report.hashtags, base_url),
        "about": list(report.related),
    }
    if report.summary:
        document["summary"] = html.escape(report.summary, quote=False)
    if report.image_file and report.image_type:
        image = {
            "type": "Image",
            "mediaType": report.image_type,
            "url": f"{base_url}/media/reports/{report.image_file}",
            "name": report.image_alt or "",
        }
        # `image` for readers of articles; an attachment for Mastodon, which makes it the
        # post's picture with `name` as its description.
        document["image"] = image
        document["attachment"] = [image]
    if report.language:
        # Mastodon takes the post's language from the first key of these maps: the report's
        # own language comes first, its translations after it.
        texts = {
            report.language: {
                "title": report.title,
                "summary": report.summary,
                "body_html": report.body_html,
            }
        }
        texts.update(report.translations or {})
        document["contentMap"] = {code: text["body_html"] for code, text in texts.items()}
        document["nameMap"] = {code: text["title"] for code, text in texts.items()}
        summaries = {
            code: html.escape(text["summary"], quote=False)
            for code, text in texts.items()
            if text.get("summary")
        }
        if summaries:
            document["summaryMap"] = summaries
    return document


def activity(
    kind: str, base_url: str, new_id: IdFactory, report: Report, actor: LocalActor
) -> dict[str, Any]:
    document = partial(article, base_url, report, actor)
    return as2.content_activity(kind, new_id(), actor, report, "Article", document, REPORT_CONTEXT)


def tombstone(report: Report) -> dict[str, Any]:
    return as2.tombstone(report, "Article")
