"""What keeps programs off the public forms, without a third party: a honeypot field and a
minimum time to fill the form in, from a timestamp the node signs into the form.

A person never sees the honeypot (it is hidden, and labelled so that a screen reader skips
it), so only a program fills it. A person takes more than a few seconds to type a message;
a program posts at once. The timestamp is signed, so it cannot be made up, and expires,
so an old copy of the form cannot be replayed forever.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from itsdangerous import BadSignature, URLSafeTimedSerializer

from actors.errors import Message

HONEYPOT = "website"
STARTED = "started"
MIN_SECONDS = 3.0
MAX_SECONDS = 24 * 3600


class FormGuard:
    def __init__(self, secret_key: str, form: str) -> None:
        # The form's name salts the signature: a token of one form is no good for another.
        self.serializer = URLSafeTimedSerializer(secret_key, salt=f"form-started:{form}")

    def token(self, *, now: float | None = None) -> str:
        """The signed moment the form was handed out."""
        return self.serializer.dumps(now if now is not None else time.time())

    def problem(self, form: Mapping[str, object], *, now: float | None = None) -> Message | None:
        """Why the posted form looks automated, expired or made up; None when it does not."""
        if str(form.get(HONEYPOT, "")).strip():
            return Message.FORM_AUTOMATED
        now = now if now is not None else time.time()
        try:
            started = float(self.serializer.loads(str(form.get(STARTED, "")), max_age=MAX_SECONDS))
        except (BadSignature, ValueError, TypeError):
            return Message.FORM_EXPIRED
        if now - started < MIN_SECONDS:
            return Message.FORM_TOO_FAST
        return None
