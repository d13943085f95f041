"""Content negotiation: the same URL serves people HTML and servers ActivityStreams JSON."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

AS2_MEDIA_TYPE = "application/activity+json"


def wants_activity_json(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    if "application/activity+json" in accept:
        return True
    # application/ld+json only counts with the ActivityStreams profile, as the spec says;
    # some servers send it bare, and no browser ever does, so accept that too.
    return "application/ld+json" in accept


class ActivityJSONResponse(Response):
    media_type = AS2_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()

    def __init__(self, content: Any, status_code: int = 200, **kwargs: Any) -> None:
        super().__init__(content, status_code, **kwargs)
        self.headers["Vary"] = "Accept"
        # No Cache-Control here: public documents get theirs, with an ETag, from
        # web/read_cache.py; a fixed minute would keep an edit or a delete from showing.


class JRDResponse(ActivityJSONResponse):
    media_type = "application/jrd+json"
