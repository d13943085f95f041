"""Talking to the SMTP server: the IWSN_SMTP_URL setting, one send, and the doctor's check.

A failure is classified once, here: the worker retries what may heal (the server down, a
4xx, a login refused because the password is being changed) and gives up only on a 5xx about
this message or its recipient, which the same server will give again.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

TIMEOUT = 30.0
_YES = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    # "plain", "starttls" (upgrade on the submission port) or "tls" (TLS from the start, 465).
    security: str
    username: str | None = None
    password: str | None = None
    # The name we give in EHLO: the node's own, rather than a reverse lookup of ours.
    local_hostname: str | None = None
    ca_file: str | None = None

    def __repr__(self) -> str:
        # Never the password, wherever a server ends up printed.
        return f"SmtpServer({self.host}:{self.port}, {self.security}, user={self.username!r})"

    @classmethod
    def from_url(cls, url: str, **extra: str | None) -> SmtpServer:
        """`smtp://user:pass@host:587?starttls=1`, `smtps://user:pass@host:465`,
        `smtp://127.0.0.1:1025`. Raises ValueError saying what is wrong."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("must start with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("has no host name")
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["0"])[-1].strip().lower() in _YES
        if parts.scheme == "smtps":
            security = "tls"
        else:
            security = "starttls" if starttls else "plain"
        try:
            port = parts.port
        except ValueError:
            raise ValueError("has a port that is not a number") from None
        if port is None:
            port = {"tls": 465, "starttls": 587, "plain": 25}[security]
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        if username and security == "plain" and not _is_loopback(parts.hostname):
            raise ValueError(
                "would send the password unencrypted: add ?starttls=1, or use smtps://"
            )
        return cls(
            host=parts.hostname,
            port=port,
            security=security,
            username=username,
            password=password,
            local_hostname=extra.get("local_hostname"),
            ca_file=extra.get("ca_file"),
        )

    def client(self) -> aiosmtplib.SMTP:
        context = ssl.create_default_context()
        if self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            tls_context=context if self.security != "plain" else None,
            local_hostname=self.local_hostname,
            timeout=TIMEOUT,
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SendFailed(Exception):
    """A message the server did not take; `permanent` when trying again cannot help."""

    def __init__(self, reason: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code


async def send(server: SmtpServer, message: EmailMessage, *, sender: str, recipient: str) -> None:
    """Hand one message to the server; raises SendFailed when it is not taken."""
    try:
        async with server.client() as client:
            await client.send_message(message, sender=sender, recipients=[recipient])
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients[0] if exc.recipients else None
        code = refused.code if refused else None
        reason = f"{code} {refused.message}" if refused else str(exc)
        raise SendFailed(reason, permanent=_is_permanent(code), code=code) from None
    except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as exc:
        raise SendFailed(
            f"{exc.code} {exc.message}", permanent=_is_permanent(exc.code), code=exc.code
        ) from None
    except aiosmtplib.SMTPAuthenticationError as exc:
        # Our settings, not the message: fixed by the admin, then the queue goes out.
        raise SendFailed(f"login refused: {exc.code} {exc.message}", permanent=False) from None
    except aiosmtplib.SMTPResponseException as exc:
        # The sender refused, a server busy, a command it does not know: not this message's
        # fault, so never a reason to drop it.
        raise SendFailed(f"{exc.code} {exc.message}", permanent=False, code=exc.code) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError, ssl.SSLError) as exc:
        raise SendFailed(_described(exc), permanent=False) from None


def _is_permanent(code: int | None) -> bool:
    return code is not None and 500 <= code < 600


def _described(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "nothing answers at the server's address and port (connection refused)"
    if isinstance(exc, TimeoutError | aiosmtplib.SMTPTimeoutError):
        return "the server did not answer in time"
    text = str(exc) or type(exc).__name__
    return text[:500]


async def check(server: SmtpServer) -> str:
    """Connect as a send does (EHLO, STARTTLS, login) and leave; raises SendFailed saying
    what did not work, else returns what worked, in words."""
    try:
        async with server.client() as client:
            done = ["connected", "EHLO answered"]
            if server.security == "starttls":
                done.append("STARTTLS")
            elif server.security == "tls":
                done.append("TLS")
            if server.username:
                done.append(f"logged in as {server.username}")
            await client.noop()
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise SendFailed(f"login refused: {exc.code} {exc.message}", permanent=True) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise SendFailed(f"{exc.code} {exc.message}", permanent=True) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError, ssl.SSLError) as exc:
        raise SendFailed(_described(exc), permanent=False) from None
    return ", ".join(done)
