"""Delivery signatures made in helper processes: the same headers as `sign_request`."""

from __future__ import annotations

import asyncio
import json

import pytest

from federation.client import SignedClient, Signer
from federation.config import FederationConfig
from federation.keys import generate_private_key_pem, public_key_pem
from federation.signatures import verify_request
from federation.signer_pool import SignerUnavailable, SigningPool

KEY_ID = "https://a.example/actors/union#main-key"
INBOX = "https://b.example/users/x/inbox?shared=1"
BODY = json.dumps({"type": "Create", "content": "é ü"}).encode()


@pytest.fixture(scope="module")
def private_pem() -> str:
    return generate_private_key_pem()


async def test_a_helper_signs_what_verify_request_accepts(private_pem):
    pool = SigningPool(2)
    try:
        signed = await asyncio.gather(
            *(
                pool.sign_post(
                    f"{INBOX}&n={n}", key_id=KEY_ID, private_key_pem=private_pem, body=BODY
                )
                for n in range(20)
            )
        )
    finally:
        await pool.aclose()
    for n, headers in enumerate(signed):
        assert headers["Host"] == "b.example"
        params = verify_request(
            "POST",
            f"/users/x/inbox?shared=1&n={n}",
            headers,
            BODY,
            public_key_pem(private_pem),
        )
        assert params.key_id == KEY_ID


async def test_a_bad_key_fails_that_request_only(private_pem):
    pool = SigningPool(1)
    try:
        with pytest.raises(ValueError, match="private key"):
            await pool.sign_post(INBOX, key_id=KEY_ID, private_key_pem="nonsense", body=BODY)
        headers = await pool.sign_post(INBOX, key_id=KEY_ID, private_key_pem=private_pem, body=BODY)
    finally:
        await pool.aclose()
    assert "Signature" in headers


async def test_a_helper_that_dies_is_replaced(private_pem):
    pool = SigningPool(1)
    try:
        await pool.sign_post(INBOX, key_id=KEY_ID, private_key_pem=private_pem, body=BODY)
        (child,) = pool._children
        child.transport.kill()
        await child.exited.wait()
        with pytest.raises(SignerUnavailable):
            child.send(1, [b"POST"])
        headers = await pool.sign_post(INBOX, key_id=KEY_ID, private_key_pem=private_pem, body=BODY)
        assert pool._children and pool._children[0] is not child
    finally:
        await pool.aclose()
    assert "Signature" in headers
    assert child.transport.get_returncode() is not None


async def test_the_client_signs_in_its_own_thread_when_no_helper_can(private_pem, monkeypatch):
    client = SignedClient(FederationConfig(domain="a.example"), signing_processes=1)

    async def unavailable(*args, **kwargs):
        raise SignerUnavailable("no helper here")

    monkeypatch.setattr(client._signing, "sign_post", unavailable)
    try:
        headers = await client._sign_post(INBOX, BODY, Signer(KEY_ID, private_pem))
    finally:
        await client.aclose()
    verify_request("POST", "/users/x/inbox?shared=1", headers, BODY, public_key_pem(private_pem))


def test_a_helper_signs_under_uvloop_as_the_node_runs(private_pem):
    uvloop = pytest.importorskip("uvloop")

    async def sign():
        pool = SigningPool(1)
        try:
            return await pool.sign_post(
                INBOX, key_id=KEY_ID, private_key_pem=private_pem, body=BODY
            )
        finally:
            await pool.aclose()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        headers = runner.run(sign())
    verify_request("POST", "/users/x/inbox?shared=1", headers, BODY, public_key_pem(private_pem))
