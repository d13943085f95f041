"""HTTP Signatures (draft-cavage-http-signatures-12) as Mastodon speaks them.

Outbound requests are signed with rsa-sha256 over `(request-target) host date`, plus
`digest` when there is a body. Inbound signatures are accepted as `rsa-sha256` or
`hs2019` (with an RSA key), and must cover enough of the request that it cannot be
replayed elsewhere or with another body.

Everything here is a pure function of strings, bytes and mappings: the HTTP layer
hands in the method, path, headers and body; the caller fetches the key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from federation.keys import load_private_key, load_public_key

__all__ = [
    "SignatureError",
    "SignatureFailure",
    "SignatureParams",
    "digest_header",
    "http_date",
    "parse_signature",
    "sign_request",
    "verify_request",
]

REQUEST_TARGET = "(request-target)"
CREATED = "(created)"
EXPIRES = "(expires)"

_SUPPORTED_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})


class SignatureFailure(StrEnum):
    """Why a signature was rejected; stable values for logs, metrics and responses."""

    MISSING_SIGNATURE = "missing_signature"
    MALFORMED_SIGNATURE = "malformed_signature"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    MISSING_SIGNED_HEADER = "missing_signed_header"
    DATE_MISSING = "date_missing"
    DATE_INVALID = "date_invalid"
    DATE_STALE = "date_stale"
    DATE_IN_FUTURE = "date_in_future"
    DIGEST_MISSING = "digest_missing"
    DIGEST_MISMATCH = "digest_mismatch"
    DIGEST_UNSUPPORTED = "digest_unsupported"
    BAD_SIGNATURE = "bad_signature"
    KEY_INVALID = "key_invalid"


class SignatureError(Exception):
    """A rejected signature: `reason` for code, the message for people."""

    def __init__(self, reason: SignatureFailure, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __repr__(self) -> str:
        return f"SignatureError({self.reason.name}, {self.message!r})"


@dataclass(frozen=True)
class SignatureParams:
    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes
    created: int | None = None
    expires: int | None = None


# --- small building blocks -------------------------------------------------------------

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {name: number for number, name in enumerate(_MONTHS, start=1)}


def digest_header(body: bytes) -> str:
    """The `Digest` header value for a body (RFC 3230, SHA-256)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def http_date(now: datetime | None = None) -> str:
    """An RFC 7231 IMF-fixdate in GMT, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`."""
    # Spelled out by hand: strftime's %a and %b follow the process locale.
    moment = _as_utc(now) if now is not None else datetime.now(UTC)
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} "
        f"{moment.year:04d} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} GMT"
    )


def _as_utc(moment: datetime) -> datetime:
    # A naive datetime can only sensibly mean UTC here: every timestamp we handle is UTC.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# RFC 7231 §7.1.1.1: recipients must accept IMF-fixdate and the two obsolete forms.
_MON = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"(\d{2}):(\d{2}):(\d{2})"
_WKDAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_IMF_FIXDATE = re.compile(rf"{_WKDAY}, (\d{{2}}) {_MON} (\d{{4}}) {_TIME} GMT")
_RFC850_DATE = re.compile(
    rf"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
    rf"(\d{{2}})-{_MON}-(\d{{2}}) {_TIME} GMT"
)
_ASCTIME_DATE = re.compile(rf"{_WKDAY} {_MON} ([ \d]\d) {_TIME} (\d{{4}})")


# Cached: a sender's requests within one second carry the same Date.
@functools.lru_cache(maxsize=256)
def _parse_http_date(value: str) -> datetime | None:
    value = value.strip()
    try:
        if m := _IMF_FIXDATE.fullmatch(value):
            day, month, year, hh, mm, ss = m.groups()
        elif m := _RFC850_DATE.fullmatch(value):
            day, month, yy, hh, mm, ss = m.groups()
            # Two-digit years: the window rule of RFC 7231 reduced to what can matter
            # for a signature a few hours old.
            year = str(2000 + int(yy) if int(yy) < 70 else 1900 + int(yy))
        elif m := _ASCTIME_DATE.fullmatch(value):
            month, day, hh, mm, ss, year = m.groups()
        else:
            return None
        return datetime(
            int(year), _MONTH_NUMBER[month], int(day), int(hh), int(mm), int(ss), tzinfo=UTC
        )
    except ValueError:  # e.g. 31 Feb or 25:00:00
        return None


def _request_target(method: str, path_with_query: str) -> str:
    return f"{REQUEST_TARGET}: {method.lower()} {path_with_query}"


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


# --- signing -----------------------------------------------------------------------------


def sign_request(
    method: str,
    url: str,
    *,
    key_id: str,
    private_key_pem: str,
    body: bytes | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign a request; returns the `Host`, `Date`, `Digest` (with a body) and `Signature`
    headers to send with it. The body must be sent byte for byte as given."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"cannot sign a request to a relative URL: {url!r}")
    # Never sign credentials embedded in the URL: the Host header carries none.
    host = parts.netloc.rpartition("@")[2]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    headers = {"Host": host, "Date": http_date(now)}
    lines = [_request_target(method, target), f"host: {host}", f"date: {headers['Date']}"]
    signed = [REQUEST_TARGET, "host", "date"]
    if body is not None:
        headers["Digest"] = digest_header(body)
        lines.append(f"digest: {headers['Digest']}")
        signed.append("digest")

    key = load_private_key(private_key_pem)
    signature = key.sign("\n".join(lines).encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    headers["Signature"] = (
        f'keyId="{_quote(key_id)}",algorithm="rsa-sha256",'
        f'headers="{" ".join(signed)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return headers


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


# --- parsing -----------------------------------------------------------------------------

# RFC 7235 auth-params: token = ( token / quoted-string ), separated by commas.
_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = re.compile(
    # The quoted-string is written as an unrolled loop: a signature value is hundreds of
    # characters and a per-character alternation made this the slowest step of a verify.
    rf'[ \t]*({_TCHARS})[ \t]*=[ \t]*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|({_TCHARS}))[ \t]*(?:,|$)',
    re.DOTALL,
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_SCHEME = re.compile(r"signature[ \t]+", re.IGNORECASE)


def _malformed(message: str) -> SignatureError:
    return SignatureError(SignatureFailure.MALFORMED_SIGNATURE, message)


def _split_params(raw: str) -> dict[str, str]:
    raw = raw.strip()
    # Old node-http-signature versions put the Authorization scheme into the Signature header.
    if m := _SCHEME.match(raw):
        raw = raw[m.end() :]
    params: dict[str, str] = {}
    position = 0
    while position < len(raw):
        m = _PARAM.match(raw, position)
        if m is None:
            raise _malformed(f"cannot parse signature parameters at: {raw[position:][:40]!r}")
        name, quoted, token = m.groups()
        name = name.lower()
        if name in params:
            # Two values for one parameter means two parsers could read two different
            # signatures out of one header; refuse rather than pick one.
            raise _malformed(f"signature parameter {name!r} appears twice")
        if quoted is None:
            params[name] = token
        else:
            params[name] = _QUOTED_PAIR.sub(r"\1", quoted) if "\\" in quoted else quoted
        position = m.end()
    if raw.endswith(","):
        raise _malformed("signature parameters end with a comma")
    return params


def _timestamp(params: dict[str, str], name: str) -> int | None:
    if name not in params:
        return None
    try:
        return int(params[name])
    except ValueError:
        raise _malformed(f"signature parameter {name!r} is not a Unix timestamp") from None


def parse_signature(headers: Mapping[str, str]) -> SignatureParams:
    """Read the `Signature` header, or `Authorization: Signature ...`, of a request."""
    lowered = _lower_keys(headers)
    raw = lowered.get("signature")
    if raw is None:
        authorization = lowered.get("authorization", "")
        if m := _SCHEME.match(authorization):
            raw = authorization[m.end() :]
    if raw is None or not raw.strip():
        raise SignatureError(SignatureFailure.MISSING_SIGNATURE, "request is not signed")

    params = _split_params(raw)
    key_id = params.get("keyid", "")
    encoded = params.get("signature", "")
    if not key_id:
        raise _malformed("signature has no keyId")
    if not encoded:
        raise _malformed("signature has no signature value")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _malformed("signature value is not valid base64") from None

    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in _SUPPORTED_ALGORITHMS:
        raise SignatureError(
            SignatureFailure.UNSUPPORTED_ALGORITHM,
            f"unsupported signature algorithm {algorithm!r} (only rsa-sha256 and hs2019)",
        )

    created = _timestamp(params, "created")
    expires = _timestamp(params, "expires")
    if "headers" in params:
        signed = tuple(params["headers"].lower().split())
    else:
        # Draft 12 defaults to (created); the legacy rsa-sha256 default is Date. Mastodon
        # does the same. Either way such a signature covers too little and is refused later.
        signed = (CREATED,) if algorithm == "hs2019" else ("date",)
    for pseudo, value in ((CREATED, created), (EXPIRES, expires)):
        if pseudo in signed:
            # Draft 12 §2.3: (created)/(expires) are errors with algorithms named rsa-*.
            if algorithm != "hs2019":
                raise _malformed(f"{pseudo} cannot be signed with {algorithm}")
            if value is None:
                raise _malformed(f"{pseudo} is signed but its parameter is missing")

    return SignatureParams(
        key_id=key_id,
        algorithm=algorithm,
        headers=signed,
        signature=signature,
        created=created,
        expires=expires,
    )


# --- verification ------------------------------------------------------------------------


def verify_request(
    method: str,
    path_with_query: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key_pem: str,
    *,
    params: SignatureParams | None = None,
    now: datetime | None = None,
    max_age: timedelta = timedelta(hours=1, minutes=5),
    max_future: timedelta = timedelta(hours=1),
) -> SignatureParams:
    """Verify a signed request; return its parameters or raise SignatureError.

    `path_with_query` is the request target exactly as received. `body` is None for a
    request without one (GET); any bytes, even empty, require a signed matching Digest.
    Pass `params` when they were already parsed (to find the key by its keyId).
    """
    lowered = _lower_keys(headers)
    if params is None:
        params = parse_signature(lowered)
    signed = params.headers

    _check_coverage(signed, has_body=body is not None)
    _check_time(params, lowered, now, max_age, max_future)
    if body is not None:
        _check_digest(lowered.get("digest"), body)

    try:
        key = load_public_key(public_key_pem)
    except ValueError as exc:
        raise SignatureError(SignatureFailure.KEY_INVALID, f"unusable public key: {exc}") from None

    message = _signing_string(signed, params, method, path_with_query, lowered)
    if _rsa_sha256_valid(key, params.signature, message):
        return params
    path, query_mark, _ = path_with_query.partition("?")
    # Older Mastodon versions sign the path without its query string and Mastodon still
    # accepts that form, so a query-bearing request gets a second, last try without it.
    if query_mark and REQUEST_TARGET in signed:
        message = _signing_string(signed, params, method, path, lowered)
        if _rsa_sha256_valid(key, params.signature, message):
            return params
    raise SignatureError(
        SignatureFailure.BAD_SIGNATURE,
        f"signature does not verify with the key of {params.key_id} (rsa-sha256)",
    )


def _check_coverage(signed: tuple[str, ...], *, has_body: bool) -> None:
    # Without these the signature could be replayed to another path, host or time, or
    # carry another body: Mastodon requires the same of what it accepts.
    required = [REQUEST_TARGET, "host"]
    if has_body:
        required.append("digest")
    missing = [name for name in required if name not in signed]
    if "date" not in signed and CREATED not in signed:
        missing.append("date")
    if missing:
        raise SignatureError(
            SignatureFailure.MISSING_SIGNED_HEADER,
            f"signature must cover {', '.join(missing)}; it covers: {' '.join(signed) or '-'}",
        )


def _check_time(
    params: SignatureParams,
    lowered: dict[str, str],
    now: datetime | None,
    max_age: timedelta,
    max_future: timedelta,
) -> None:
    current = _as_utc(now) if now is not None else datetime.now(UTC)
    if CREATED in params.headers and params.created is not None:
        sent = _from_timestamp(params.created, "created")
        source = "(created)"
    else:
        raw = lowered.get("date")
        if raw is None:
            raise SignatureError(SignatureFailure.DATE_MISSING, "signed request has no Date header")
        parsed = _parse_http_date(raw)
        if parsed is None:
            raise SignatureError(SignatureFailure.DATE_INVALID, f"unreadable Date header {raw!r}")
        sent = parsed
        source = "Date"
    if sent - current > max_future:
        raise SignatureError(
            SignatureFailure.DATE_IN_FUTURE, f"{source} {sent.isoformat()} is in the future"
        )
    if current - sent > max_age:
        raise SignatureError(
            SignatureFailure.DATE_STALE, f"{source} {sent.isoformat()} is older than {max_age}"
        )
    if params.expires is not None:
        # The same clock-skew allowance as for the future limit, as Mastodon does.
        expired = _from_timestamp(params.expires, "expires")
        if current - expired > max_future:
            raise SignatureError(
                SignatureFailure.DATE_STALE, f"signature expired at {expired.isoformat()}"
            )


def _from_timestamp(value: int, name: str) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise SignatureError(
            SignatureFailure.DATE_INVALID, f"signature {name}={value} is out of range"
        ) from None


def _check_digest(header: str | None, body: bytes) -> None:
    if header is None:
        raise SignatureError(SignatureFailure.DIGEST_MISSING, "request with a body has no Digest")
    offered: list[str] = []
    sha256_values: list[str] = []
    for item in header.split(","):
        algorithm, _, value = item.strip().partition("=")
        offered.append(algorithm)
        if algorithm.lower() == "sha-256":
            sha256_values.append(value.strip())
    if not sha256_values:
        raise SignatureError(
            SignatureFailure.DIGEST_UNSUPPORTED,
            f"Digest offers only {', '.join(offered)}; SHA-256 is required",
        )
    if len(sha256_values) > 1:
        # Any one matching would let a proxy or a second parser that reads another one see
        # a different body under the same signature: one value, or none accepted.
        raise SignatureError(
            SignatureFailure.DIGEST_MISMATCH, "Digest gives more than one SHA-256 value"
        )
    expected = digest_header(body).partition("=")[2]
    if expected not in sha256_values:
        raise SignatureError(
            SignatureFailure.DIGEST_MISMATCH,
            f"Digest does not match the body (computed SHA-256={expected})",
        )


def _signing_string(
    signed: tuple[str, ...],
    params: SignatureParams,
    method: str,
    path_with_query: str,
    lowered: dict[str, str],
) -> bytes:
    lines = []
    for name in signed:
        if name == REQUEST_TARGET:
            lines.append(_request_target(method, path_with_query))
        elif name == CREATED:
            lines.append(f"{CREATED}: {params.created}")
        elif name == EXPIRES:
            lines.append(f"{EXPIRES}: {params.expires}")
        else:
            value = lowered.get(name)
            if value is None:
                # Draft 12 §2.3: a listed header absent from the request is an error.
                raise SignatureError(
                    SignatureFailure.BAD_SIGNATURE, f"signed header {name!r} is not in the request"
                )
            lines.append(f"{name}: {value.strip()}")
    text = "\n".join(lines)
    try:
        # ASGI servers hand header bytes over decoded as latin-1: this restores the wire bytes.
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _rsa_sha256_valid(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
