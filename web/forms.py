"""Reading a posted form with a size cap, before anything is parsed.

Starlette's `request.form()` reads a urlencoded body whole into memory, whatever its size: a
60 MB POST to the login form cost 60 MB before the answer. Every form route reads through
`read_form`, which refuses a body larger than MAX_FORM_BYTES from its Content-Length, or once
that many bytes have come without one, and stops reading it there. What could not be read
goes back with what the domain finds wrong in the rest (`refuse_unread`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from functools import wraps

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from actors.errors import Problems, ValidationError

# The largest form is an assembly's: description and agenda of 20,000 characters each, which
# percent-encoded UTF-8 can make nine bytes a character.
MAX_FORM_BYTES = 1_000_000
MAX_FIELDS = 200


def _(message: str) -> str:
    """Marks a message for the catalogs; the error page translates it when shown."""
    return message


TOO_LARGE = _("This form is too large (more than 1 MB). Shorten the text and send it again.")
UPLOAD_TOO_LARGE = _("This file is far too large. Make it smaller and send it again.")
# Without it the server would read (and drop) the rest of the body to keep the connection.
_CLOSE = {"Connection": "close"}


async def read_form(request: Request) -> FormData:
    """The request's form, read at most once per request and never past MAX_FORM_BYTES."""
    cached = getattr(request.state, "form", None)
    if cached is not None:
        return cached
    upload: int | None = getattr(request.state, "upload_bytes", None)
    limit = MAX_FORM_BYTES + upload if upload else MAX_FORM_BYTES
    refusal = UPLOAD_TOO_LARGE if upload else TOO_LARGE
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise HTTPException(413, refusal, headers=_CLOSE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, refusal, headers=_CLOSE)
        chunks.append(chunk)
    body = b"".join(chunks)

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    # Only routes marked `accepts_upload` take a file (one); text fields are bounded by the
    # body cap above.
    form = await Request(request.scope, replay).form(
        max_files=1 if upload else 0, max_fields=MAX_FIELDS, max_part_size=MAX_FORM_BYTES
    )
    request.state.form = form
    return form


def accepts_upload(
    max_bytes: int,
) -> Callable[[Callable[[Request], Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]:
    """Let this route's form carry one file. `max_bytes` is twice what the domain accepts, so
    a file a little too large reaches the domain and is refused beside its field; only a
    far larger body is cut off here. Put it outside `admin_required`, whose CSRF check reads
    the form first."""

    def decorate(
        endpoint: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        @wraps(endpoint)
        async def reading_files(request: Request) -> Response:
            request.state.upload_bytes = max_bytes
            try:
                return await endpoint(request)
            finally:
                # The file waits in a temporary file (on disk when large) until closed.
                form = getattr(request.state, "form", None)
                if form is not None:
                    await form.close()

        return reading_files

    return decorate


def refuse_unread(
    unread: Problems, check: Callable[[], object], *, ignore: Collection[str] = ()
) -> None:
    """When part of a form could not be read, raise ValidationError with it and with what the
    domain's `check` finds wrong in the rest (except the fields in `ignore`, whose check a
    stand-in value made meaningless): the person hears everything at once, and nothing is
    stored. Nothing happens when the whole form was read."""
    if not unread:
        return
    try:
        check()
    except ValidationError as exc:
        for name, found in exc.problems.items():
            if name not in ignore:
                unread.add(name, found.message, **found.params)
    unread.raise_any()
