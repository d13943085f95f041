"""Reading a posted form with a size cap, before anything is parsed.

Starlette's `request.form()` reads a urlencoded body whole into memory, whatever its size: a
60 MB POST to the login form cost 60 MB before the answer. Every form route reads through
`read_form`, which refuses a body larger than MAX_FORM_BYTES from its Content-Length, or once
that many bytes have come without one, and stops reading it there. What could not be read
goes back with what the domain finds wrong in the rest (`refuse_unread`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
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
# Without it the server would read (and drop) the rest of the body to keep the connection.
_CLOSE = {"Connection": "close"}


async def read_form(request: Request) -> FormData:
    """The request's form, read at most once per request and never past MAX_FORM_BYTES."""
    cached = getattr(request.state, "form", None)
    if cached is not None:
        return cached
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
        raise HTTPException(413, TOO_LARGE, headers=_CLOSE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise HTTPException(413, TOO_LARGE, headers=_CLOSE)
        chunks.append(chunk)
    body = b"".join(chunks)

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    # Our forms carry no files; text fields are bounded by the body cap above.
    form = await Request(request.scope, replay).form(
        max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_FORM_BYTES
    )
    request.state.form = form
    return form


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
