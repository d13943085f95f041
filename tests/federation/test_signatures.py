import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import httpsig
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from federation.keys import generate_private_key_pem, load_private_key, public_key_pem
from federation.signatures import (
    SignatureError,
    SignatureFailure,
    SignatureParams,
    digest_header,
    http_date,
    parse_signature,
    sign_request,
    verify_request,
)

NOW = datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC)
KEY_ID = "https://a.example/actors/union#main-key"
PATH = "/actors/local/inbox"
INBOX = "https://b.example" + PATH
BODY = json.dumps({"type": "Follow", "actor": "https://a.example/actors/union"}).encode()


@pytest.fixture(scope="module")
def private_pem() -> str:
    return generate_private_key_pem()


@pytest.fixture(scope="module")
def public_pem(private_pem) -> str:
    return public_key_pem(private_pem)


@pytest.fixture(scope="module")
def other_public_pem() -> str:
    return public_key_pem(generate_private_key_pem())


def raw_signature(private_pem: str, lines: list[str]) -> str:
    """Sign a signing string built by hand, to craft requests sign_request never makes."""
    signature = load_private_key(private_pem).sign(
        "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return base64.b64encode(signature).decode()


def signed_post(private_pem: str, body: bytes = BODY, now: datetime = NOW) -> dict[str, str]:
    return sign_request(
        "POST", INBOX, key_id=KEY_ID, private_key_pem=private_pem, body=body, now=now
    )


def reason(excinfo: pytest.ExceptionInfo[SignatureError]) -> SignatureFailure:
    return excinfo.value.reason


# --- building blocks ---------------------------------------------------------------------


def test_digest_header_is_base64_sha256():
    assert digest_header(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert digest_header(b"hello") == (
        "SHA-256=" + base64.b64encode(hashlib.sha256(b"hello").digest()).decode()
    )


def test_http_date_is_imf_fixdate_in_gmt():
    assert (
        http_date(datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)) == "Sun, 06 Nov 1994 08:49:37 GMT"
    )
    # naive means UTC; other zones are converted
    assert http_date(datetime(1994, 11, 6, 8, 49, 37)) == "Sun, 06 Nov 1994 08:49:37 GMT"
    plus_two = timezone(timedelta(hours=2))
    assert http_date(datetime(2025, 1, 1, 1, 0, 0, tzinfo=plus_two)) == (
        "Tue, 31 Dec 2024 23:00:00 GMT"
    )


def test_http_date_defaults_to_now():
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = datetime.strptime(http_date(), "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    after = datetime.now(UTC)
    assert before <= stamp <= after


# --- signing -----------------------------------------------------------------------------


def test_sign_get_headers_and_signing_string(private_pem, public_pem):
    headers = sign_request(
        "GET",
        "https://b.example:8443/actors/x/outbox?page=2",
        key_id=KEY_ID,
        private_key_pem=private_pem,
        now=NOW,
    )
    assert set(headers) == {"Host", "Date", "Signature"}
    assert headers["Host"] == "b.example:8443"
    assert headers["Date"] == "Fri, 14 Mar 2025 15:09:26 GMT"
    params = parse_signature(headers)
    assert params.key_id == KEY_ID
    assert params.algorithm == "rsa-sha256"
    assert params.headers == ("(request-target)", "host", "date")
    assert headers["Signature"].startswith(
        f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date",signature="'
    )
    # Checked with the bare primitive: the signing string is exactly the draft's.
    expected = (
        "(request-target): get /actors/x/outbox?page=2\n"
        "host: b.example:8443\n"
        "date: Fri, 14 Mar 2025 15:09:26 GMT"
    )
    serialization.load_pem_public_key(public_pem.encode()).verify(
        params.signature, expected.encode(), padding.PKCS1v15(), hashes.SHA256()
    )


def test_sign_post_covers_digest(private_pem):
    headers = signed_post(private_pem)
    assert headers["Host"] == "b.example"
    assert headers["Digest"] == digest_header(BODY)
    assert parse_signature(headers).headers == ("(request-target)", "host", "date", "digest")


def test_sign_empty_body_still_gets_a_digest(private_pem, public_pem):
    headers = signed_post(private_pem, body=b"")
    assert headers["Digest"] == digest_header(b"")
    verify_request("POST", PATH, headers, b"", public_pem, now=NOW)


def test_sign_rejects_relative_url(private_pem):
    with pytest.raises(ValueError, match="relative"):
        sign_request("GET", "/inbox", key_id=KEY_ID, private_key_pem=private_pem)


def test_sign_strips_userinfo_from_host_and_defaults_path(private_pem):
    headers = sign_request(
        "GET", "https://user:pw@b.example", key_id=KEY_ID, private_key_pem=private_pem, now=NOW
    )
    assert headers["Host"] == "b.example"


# --- round trips -------------------------------------------------------------------------


def test_round_trip_post(private_pem, public_pem):
    headers = signed_post(private_pem)
    params = verify_request("POST", PATH, headers, BODY, public_pem, now=NOW)
    assert params.key_id == KEY_ID


def test_round_trip_get_with_query(private_pem, public_pem):
    headers = sign_request(
        "GET", "https://b.example/outbox?page=true", key_id=KEY_ID, private_key_pem=private_pem
    )
    # no `now`: signed and verified against the real clock
    params = verify_request("GET", "/outbox?page=true", headers, None, public_pem)
    assert params.headers == ("(request-target)", "host", "date")


def test_verify_looks_headers_up_case_insensitively(private_pem, public_pem):
    headers = {name.upper(): value for name, value in signed_post(private_pem).items()}
    verify_request("POST", PATH, headers, BODY, public_pem, now=NOW)


def test_verify_accepts_pre_parsed_params(private_pem, public_pem):
    headers = signed_post(private_pem)
    params = parse_signature(headers)
    result = verify_request("POST", PATH, headers, BODY, public_pem, params=params, now=NOW)
    assert result is params


def test_verify_accepts_pkcs1_public_key(private_pem):
    pkcs1 = (
        load_private_key(private_pem)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
        .decode()
    )
    assert "BEGIN RSA PUBLIC KEY" in pkcs1
    verify_request("POST", PATH, signed_post(private_pem), BODY, pkcs1, now=NOW)


def test_verify_accepts_authorization_header_form(private_pem, public_pem):
    headers = signed_post(private_pem)
    headers["Authorization"] = "Signature " + headers.pop("Signature")
    verify_request("POST", PATH, headers, BODY, public_pem, now=NOW)


def test_verify_accepts_buggy_signature_prefix(private_pem, public_pem):
    headers = signed_post(private_pem)
    headers["Signature"] = "Signature " + headers["Signature"]
    verify_request("POST", PATH, headers, BODY, public_pem, now=NOW)


def test_hs2019_is_accepted_as_rsa_sha256(private_pem, public_pem):
    headers = signed_post(private_pem)
    headers["Signature"] = headers["Signature"].replace(
        'algorithm="rsa-sha256"', 'algorithm="hs2019"'
    )
    params = verify_request("POST", PATH, headers, BODY, public_pem, now=NOW)
    assert params.algorithm == "hs2019"


def test_absent_algorithm_means_hs2019(private_pem, public_pem):
    headers = signed_post(private_pem)
    headers["Signature"] = headers["Signature"].replace('algorithm="rsa-sha256",', "")
    params = verify_request("POST", PATH, headers, BODY, public_pem, now=NOW)
    assert params.algorithm == "hs2019"


def test_hs2019_with_created_and_expires(private_pem, public_pem):
    created = int(NOW.timestamp()) - 60
    expires = created + 300
    lines = [
        "(request-target): post /inbox",
        "host: b.example",
        f"(created): {created}",
        f"(expires): {expires}",
        f"digest: {digest_header(BODY)}",
    ]
    headers = {
        "Host": "b.example",
        "Digest": digest_header(BODY),
        "Signature": (
            f'keyId="{KEY_ID}",algorithm="hs2019",created={created},expires={expires},'
            f'headers="(request-target) host (created) (expires) digest",'
            f'signature="{raw_signature(private_pem, lines)}"'
        ),
    }
    # No Date header at all: (created) stands in for it.
    params = verify_request("POST", "/inbox", headers, BODY, public_pem, now=NOW)
    assert (params.created, params.expires) == (created, expires)

    with pytest.raises(SignatureError) as excinfo:
        verify_request(
            "POST",
            "/inbox",
            headers,
            BODY,
            public_pem,
            now=NOW + timedelta(hours=2),
            max_age=timedelta(hours=12),  # so that the expiry, not the age, is what fails
        )
    assert reason(excinfo) is SignatureFailure.DATE_STALE
    assert "expired" in str(excinfo.value)


def test_created_too_old_is_stale(private_pem, public_pem):
    created = int((NOW - timedelta(hours=13)).timestamp())
    lines = ["(request-target): get /outbox", "host: b.example", f"(created): {created}"]
    headers = {
        "Host": "b.example",
        "Signature": (
            f'keyId="{KEY_ID}",algorithm="hs2019",created="{created}",'
            f'headers="(request-target) host (created)",'
            f'signature="{raw_signature(private_pem, lines)}"'
        ),
    }
    verify_request("GET", "/outbox", headers, None, public_pem, now=NOW - timedelta(hours=12))
    with pytest.raises(SignatureError) as excinfo:
        verify_request("GET", "/outbox", headers, None, public_pem, now=NOW)
    assert reason(excinfo) is SignatureFailure.DATE_STALE


@pytest.mark.parametrize(
    "date",
    ["Friday, 14-Mar-25 15:09:26 GMT", "Fri Mar 14 15:09:26 2025"],
    ids=["rfc850", "asctime"],
)
def test_obsolete_date_formats_are_accepted(private_pem, public_pem, date):
    lines = ["(request-target): get /outbox", "host: b.example", f"date: {date}"]
    headers = {
        "Host": "b.example",
        "Date": date,
        "Signature": (
            f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date",'
            f'signature="{raw_signature(private_pem, lines)}"'
        ),
    }
    verify_request("GET", "/outbox", headers, None, public_pem, now=NOW)


def test_mastodon_legacy_request_target_without_query_is_accepted(private_pem, public_pem):
    # Mastodon before 4.3 signed the path alone even when the URL had a query string.
    headers = sign_request(
        "GET", "https://b.example/outbox", key_id=KEY_ID, private_key_pem=private_pem, now=NOW
    )
    verify_request("GET", "/outbox?page=true", headers, None, public_pem, now=NOW)
    with pytest.raises(SignatureError) as excinfo:
        verify_request("GET", "/followers?page=true", headers, None, public_pem, now=NOW)
    assert reason(excinfo) is SignatureFailure.BAD_SIGNATURE


def test_key_id_with_quotes_round_trips(private_pem, public_pem):
    key_id = 'https://a.example/k"e\\y'
    headers = sign_request(
        "POST", INBOX, key_id=key_id, private_key_pem=private_pem, body=BODY, now=NOW
    )
    params = verify_request("POST", PATH, headers, BODY, public_pem, now=NOW)
    assert params.key_id == key_id


def test_several_digests_one_sha256_matching(private_pem, public_pem):
    digest = f"SHA-512=AAAA, sha-256={digest_header(BODY).split('=', 1)[1]}"
    headers = httpsig_signed("POST", "/inbox", private_pem, digest=digest, sign_header="signature")
    verify_request("POST", "/inbox", headers, BODY, public_pem, now=NOW)


def test_two_sha256_digests_are_refused_even_with_one_matching(private_pem, public_pem):
    right = digest_header(BODY).split("=", 1)[1]
    wrong = digest_header(b"another body").split("=", 1)[1]
    for digest in (f"SHA-256={wrong}, SHA-256={right}", f"SHA-256={right},sha-256={right}"):
        headers = httpsig_signed("POST", "/inbox", private_pem, digest=digest)
        error = expect(
            SignatureFailure.DIGEST_MISMATCH, "POST", "/inbox", headers, BODY, public_pem
        )
        assert "more than one SHA-256" in str(error)


# --- every failure reason, from a real request -------------------------------------------


def expect(failure: SignatureFailure, *args, **kwargs) -> SignatureError:
    with pytest.raises(SignatureError) as excinfo:
        verify_request(*args, **{"now": NOW, **kwargs})
    assert excinfo.value.reason is failure, excinfo.value
    assert str(excinfo.value)
    return excinfo.value


@pytest.mark.parametrize(
    "headers",
    [{}, {"Date": http_date(NOW)}, {"Authorization": "Bearer abc"}, {"Signature": "  "}],
    ids=["none", "unsigned", "bearer", "blank"],
)
def test_missing_signature(public_pem, headers):
    expect(SignatureFailure.MISSING_SIGNATURE, "GET", "/", headers, None, public_pem)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s.replace('keyId="', 'keyId="x', 1).replace('",algorithm', ",algorithm", 1),
        lambda s: s[:-1],  # unterminated quote
        lambda s: s + ",",
        lambda s: s + ",,",
        lambda s: s.replace('keyId="', 'keyId=""', 1).replace("https://a", "x", 1),
        lambda s: s.split(",", 1)[1],  # no keyId
        lambda s: s.rsplit(",", 1)[0],  # no signature
        lambda s: s.replace('signature="', 'signature="!!', 1),  # not base64
        lambda s: s.replace('signature="', 'signature="A', 1),  # bad base64 padding
        lambda s: s + f',keyId="{KEY_ID}"',  # duplicate parameter
        lambda s: s.replace('algorithm="rsa-sha256"', 'algorithm="rsa-sha256",created="soon"'),
    ],
    ids=[
        "bad-quoting",
        "unterminated",
        "trailing-comma",
        "empty-param",
        "empty-keyid",
        "no-keyid",
        "no-signature",
        "not-base64",
        "bad-padding",
        "duplicate",
        "created-not-int",
    ],
)
def test_malformed_signature(private_pem, public_pem, mangle):
    headers = signed_post(private_pem)
    headers["Signature"] = mangle(headers["Signature"])
    expect(SignatureFailure.MALFORMED_SIGNATURE, "POST", PATH, headers, BODY, public_pem)


def test_created_with_rsa_sha256_is_malformed(private_pem, public_pem):
    created = int(NOW.timestamp())
    lines = ["(request-target): get /", "host: b.example", f"(created): {created}"]
    headers = {
        "Host": "b.example",
        "Signature": (
            f'keyId="{KEY_ID}",algorithm="rsa-sha256",created={created},'
            f'headers="(request-target) host (created)",'
            f'signature="{raw_signature(private_pem, lines)}"'
        ),
    }
    error = expect(SignatureFailure.MALFORMED_SIGNATURE, "GET", "/", headers, None, public_pem)
    assert "(created)" in str(error)


def test_signed_created_without_its_parameter_is_malformed(private_pem, public_pem):
    headers = signed_post(private_pem)
    headers["Signature"] = headers["Signature"].replace(
        'algorithm="rsa-sha256",headers="(request-target) host date digest"',
        'algorithm="hs2019",headers="(request-target) host (created) digest"',
    )
    expect(SignatureFailure.MALFORMED_SIGNATURE, "POST", PATH, headers, BODY, public_pem)


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "rsa-sha512", "ed25519"])
def test_unsupported_algorithm(private_pem, public_pem, algorithm):
    headers = signed_post(private_pem)
    headers["Signature"] = headers["Signature"].replace("rsa-sha256", algorithm)
    expect(
        SignatureFailure.UNSUPPORTED_ALGORITHM,
        "POST",
        PATH,
        headers,
        BODY,
        public_pem,
    )


@pytest.mark.parametrize(
    ("signed", "missing"),
    [
        (["(request-target)", "date", "digest"], "host"),
        (["host", "date", "digest"], "(request-target)"),
        (["(request-target)", "host", "digest"], "date"),
        (["(request-target)", "host", "date"], "digest"),
    ],
)
def test_post_header_not_covered(private_pem, public_pem, signed, missing):
    headers = httpsig_signed("POST", "/inbox", private_pem, signed=signed, sign_header="signature")
    error = expect(
        SignatureFailure.MISSING_SIGNED_HEADER, "POST", "/inbox", headers, BODY, public_pem
    )
    assert missing in str(error)


def test_get_signature_reused_for_post_lacks_digest(private_pem, public_pem):
    # Valid for a GET, but replayed with a body it would let anyone attach any body.
    headers = sign_request("POST", INBOX, key_id=KEY_ID, private_key_pem=private_pem, now=NOW)
    verify_request("POST", PATH, headers, None, public_pem, now=NOW)
    headers["Digest"] = digest_header(BODY)
    expect(
        SignatureFailure.MISSING_SIGNED_HEADER,
        "POST",
        PATH,
        headers,
        BODY,
        public_pem,
    )


@pytest.mark.parametrize(
    ("algorithm", "extra", "default"),
    [("rsa-sha256", "", ("date",)), ("hs2019", f"created={int(NOW.timestamp())},", ("(created)",))],
)
def test_absent_headers_parameter_covers_too_little(
    private_pem, public_pem, algorithm, extra, default
):
    headers = {
        "Host": "b.example",
        "Date": http_date(NOW),
        "Signature": (
            f'keyId="{KEY_ID}",algorithm="{algorithm}",{extra}'
            f'signature="{raw_signature(private_pem, ["date: " + http_date(NOW)])}"'
        ),
    }
    assert parse_signature(headers).headers == default
    expect(SignatureFailure.MISSING_SIGNED_HEADER, "GET", "/", headers, None, public_pem)


def test_date_missing(private_pem, public_pem):
    headers = signed_post(private_pem)
    del headers["Date"]
    expect(SignatureFailure.DATE_MISSING, "POST", PATH, headers, BODY, public_pem)


@pytest.mark.parametrize(
    "date",
    [
        "yesterday",
        "2025-03-14T15:09:26Z",
        "Fri, 14 Mar 2025 15:09:26 +0000",
        "Fri, 31 Feb 2025 15:09:26 GMT",
    ],
)
def test_date_invalid(private_pem, public_pem, date):
    lines = ["(request-target): get /", "host: b.example", f"date: {date}"]
    headers = {
        "Host": "b.example",
        "Date": date,
        "Signature": (
            f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date",'
            f'signature="{raw_signature(private_pem, lines)}"'
        ),
    }
    expect(SignatureFailure.DATE_INVALID, "GET", "/", headers, None, public_pem)


def test_created_out_of_range_is_invalid(private_pem, public_pem):
    created = 10**20
    lines = ["(request-target): get /", "host: b.example", f"(created): {created}"]
    headers = {
        "Host": "b.example",
        "Signature": (
            f'keyId="{KEY_ID}",algorithm="hs2019",created={created},'
            f'headers="(request-target) host (created)",'
            f'signature="{raw_signature(private_pem, lines)}"'
        ),
    }
    expect(SignatureFailure.DATE_INVALID, "GET", "/", headers, None, public_pem)


def test_date_stale(private_pem, public_pem):
    # Mastodon's window: five minutes of validity plus an hour of clock skew.
    headers = signed_post(private_pem, now=NOW - timedelta(hours=1, minutes=5, seconds=1))
    expect(SignatureFailure.DATE_STALE, "POST", PATH, headers, BODY, public_pem)
    # just inside the window, and a narrower window set by the caller
    inside = signed_post(private_pem, now=NOW - timedelta(hours=1, minutes=4))
    verify_request("POST", PATH, inside, BODY, public_pem, now=NOW)
    expect(
        SignatureFailure.DATE_STALE,
        "POST",
        PATH,
        inside,
        BODY,
        public_pem,
        max_age=timedelta(minutes=5),
    )


def test_date_in_future(private_pem, public_pem):
    headers = signed_post(private_pem, now=NOW + timedelta(hours=1, seconds=1))
    expect(SignatureFailure.DATE_IN_FUTURE, "POST", PATH, headers, BODY, public_pem)
    skewed = signed_post(private_pem, now=NOW + timedelta(minutes=59))
    verify_request("POST", PATH, skewed, BODY, public_pem, now=NOW)


def test_digest_missing(private_pem, public_pem):
    headers = signed_post(private_pem)
    del headers["Digest"]
    expect(SignatureFailure.DIGEST_MISSING, "POST", PATH, headers, BODY, public_pem)


def test_digest_mismatch_on_tampered_body(private_pem, public_pem):
    headers = signed_post(private_pem)
    tampered = BODY.replace(b"Follow", b"Delete")
    expect(SignatureFailure.DIGEST_MISMATCH, "POST", PATH, headers, tampered, public_pem)


def test_digest_replaced_to_match_tampered_body_breaks_signature(private_pem, public_pem):
    headers = signed_post(private_pem)
    tampered = BODY.replace(b"Follow", b"Delete")
    headers["Digest"] = digest_header(tampered)
    expect(SignatureFailure.BAD_SIGNATURE, "POST", PATH, headers, tampered, public_pem)


def test_digest_unsupported(private_pem, public_pem):
    sha512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    headers = httpsig_signed(
        "POST", "/inbox", private_pem, digest=f"SHA-512={sha512}", sign_header="signature"
    )
    error = expect(SignatureFailure.DIGEST_UNSUPPORTED, "POST", "/inbox", headers, BODY, public_pem)
    assert "SHA-512" in str(error)


def test_bad_signature_with_another_key(private_pem, other_public_pem):
    headers = signed_post(private_pem)
    expect(
        SignatureFailure.BAD_SIGNATURE,
        "POST",
        PATH,
        headers,
        BODY,
        other_public_pem,
    )


@pytest.mark.parametrize(
    ("method", "path", "header", "value"),
    [
        ("POST", "/actors/other/inbox", None, None),
        ("PUT", PATH, None, None),
        ("POST", PATH, "Host", "evil.example"),
        ("POST", PATH, "Date", http_date(NOW - timedelta(seconds=1))),
    ],
    ids=["path", "method", "host", "date"],
)
def test_bad_signature_on_tampered_request(private_pem, public_pem, method, path, header, value):
    headers = signed_post(private_pem)
    if header:
        headers[header] = value
    expect(SignatureFailure.BAD_SIGNATURE, method, path, headers, BODY, public_pem)


def test_bad_signature_when_signed_header_is_absent(private_pem, public_pem):
    headers = signed_post(private_pem)
    del headers["Host"]
    error = expect(SignatureFailure.BAD_SIGNATURE, "POST", PATH, headers, BODY, public_pem)
    assert "host" in str(error)


def test_bad_signature_on_flipped_signature_bit(private_pem, public_pem):
    headers = signed_post(private_pem)
    params = parse_signature(headers)
    flipped = bytes([params.signature[0] ^ 1]) + params.signature[1:]
    forged = SignatureParams(params.key_id, params.algorithm, params.headers, flipped)
    expect(
        SignatureFailure.BAD_SIGNATURE,
        "POST",
        PATH,
        headers,
        BODY,
        public_pem,
        params=forged,
    )


def ec_public_pem() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize("pem", ["", "not a key", ec_public_pem()], ids=["empty", "junk", "ec"])
def test_key_invalid(private_pem, pem):
    headers = signed_post(private_pem)
    expect(SignatureFailure.KEY_INVALID, "POST", PATH, headers, BODY, pem)


def test_checks_run_in_order(private_pem, other_public_pem):
    # A stale request with a tampered body and the wrong key: the date is reported first,
    # so no digest or RSA work is spent on it.
    stale = signed_post(private_pem, now=NOW - timedelta(days=2))
    tampered = BODY + b" "
    expect(SignatureFailure.DATE_STALE, "POST", PATH, stale, tampered, "junk")
    fresh = signed_post(private_pem)
    expect(SignatureFailure.DIGEST_MISMATCH, "POST", PATH, fresh, tampered, "junk")
    expect(SignatureFailure.KEY_INVALID, "POST", PATH, fresh, BODY, "junk")


def test_signature_failure_values_are_strings():
    assert isinstance(SignatureFailure.BAD_SIGNATURE, str)
    assert SignatureFailure.BAD_SIGNATURE == "bad_signature"
    assert len(set(SignatureFailure)) == 13


# --- interoperability with an independent implementation (httpsig) ----------------------


def httpsig_signed(
    method: str,
    path: str,
    private_pem: str,
    *,
    signed: list[str] | None = None,
    digest: str | None = None,
    sign_header: str = "authorization",
) -> dict[str, str]:
    headers = {
        "Host": "b.example",
        "Date": http_date(NOW),
        "Digest": digest if digest is not None else digest_header(BODY),
        "Content-Type": "application/activity+json",
    }
    signer = httpsig.HeaderSigner(
        KEY_ID,
        private_pem,
        algorithm="rsa-sha256",
        headers=signed or ["(request-target)", "host", "date", "digest"],
        sign_header=sign_header,
    )
    return dict(signer.sign(headers, method=method, path=path))


def test_httpsig_verifies_our_post(private_pem, public_pem):
    headers = signed_post(private_pem)
    verifier = httpsig.HeaderVerifier(
        headers,
        public_pem,
        required_headers=["(request-target)", "host", "date", "digest"],
        method="POST",
        path=PATH,
        sign_header="signature",
    )
    assert verifier.verify() is True
    wrong_path = httpsig.HeaderVerifier(
        headers, public_pem, method="POST", path="/actors/other/inbox", sign_header="signature"
    )
    assert wrong_path.verify() is False


def test_httpsig_verifies_our_get(private_pem, public_pem):
    headers = sign_request(
        "GET", "https://b.example/outbox?page=1", key_id=KEY_ID, private_key_pem=private_pem
    )
    verifier = httpsig.HeaderVerifier(
        headers,
        public_pem,
        required_headers=["(request-target)", "host", "date"],
        method="GET",
        path="/outbox?page=1",
        sign_header="signature",
    )
    assert verifier.verify() is True


@pytest.mark.parametrize("sign_header", ["signature", "authorization"])
def test_we_verify_httpsig_post(private_pem, public_pem, other_public_pem, sign_header):
    headers = httpsig_signed("POST", "/inbox", private_pem, sign_header=sign_header)
    params = verify_request("POST", "/inbox", headers, BODY, public_pem, now=NOW)
    assert params.key_id == KEY_ID
    assert params.headers == ("(request-target)", "host", "date", "digest")
    expect(SignatureFailure.BAD_SIGNATURE, "POST", "/inbox", headers, BODY, other_public_pem)


def test_we_verify_httpsig_get(private_pem, public_pem):
    signer = httpsig.HeaderSigner(
        KEY_ID,
        private_pem,
        algorithm="rsa-sha256",
        headers=["(request-target)", "host", "date"],
        sign_header="signature",
    )
    headers = dict(
        signer.sign(
            {"Host": "b.example", "Date": http_date(NOW)}, method="GET", path="/outbox?page=1"
        )
    )
    verify_request("GET", "/outbox?page=1", headers, None, public_pem, now=NOW)
