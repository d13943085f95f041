import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from federation.keys import (
    generate_private_key_pem,
    load_private_key,
    load_public_key,
    public_key_pem,
)


@pytest.fixture(scope="module")
def private_pem() -> str:
    return generate_private_key_pem()


@pytest.fixture(scope="module")
def ec_private_pem() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def test_generated_key_is_unencrypted_pkcs8_rsa_2048(private_pem):
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert private_pem.rstrip().endswith("-----END PRIVATE KEY-----")
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert key.public_key().public_numbers().e == 65537


def test_generated_keys_differ(private_pem):
    assert generate_private_key_pem() != private_pem


def test_public_key_pem_is_subject_public_key_info_of_the_private_key(private_pem):
    pem = public_key_pem(private_pem)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert "RSA PUBLIC KEY" not in pem
    published = serialization.load_pem_public_key(pem.encode())
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert published.public_numbers() == private.public_key().public_numbers()


def test_load_private_key_parses_and_caches(private_pem):
    key = load_private_key(private_pem)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert load_private_key(private_pem) is key


def test_load_private_key_accepts_pkcs1(private_pem):
    pkcs1 = (
        load_private_key(private_pem)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        .decode()
    )
    assert pkcs1.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert (
        load_private_key(pkcs1).private_numbers() == load_private_key(private_pem).private_numbers()
    )


def test_load_private_key_rejects_non_rsa(ec_private_pem):
    with pytest.raises(ValueError, match="only RSA"):
        load_private_key(ec_private_pem)


def test_load_private_key_rejects_encrypted_key(private_pem):
    encrypted = (
        load_private_key(private_pem)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
        .decode()
    )
    with pytest.raises(ValueError, match="private key"):
        load_private_key(encrypted)


@pytest.mark.parametrize("pem", ["", "not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n"])
def test_load_private_key_rejects_garbage(pem):
    with pytest.raises(ValueError, match="PEM private key"):
        load_private_key(pem)


def test_load_public_key_accepts_spki_and_pkcs1_as_the_same_key(private_pem):
    public = load_private_key(private_pem).public_key()
    spki = public_key_pem(private_pem)
    pkcs1 = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    ).decode()
    assert pkcs1.startswith("-----BEGIN RSA PUBLIC KEY-----")
    from_spki = load_public_key(spki)
    from_pkcs1 = load_public_key(pkcs1)
    assert isinstance(from_spki, rsa.RSAPublicKey)
    assert isinstance(from_pkcs1, rsa.RSAPublicKey)
    assert from_spki.public_numbers() == from_pkcs1.public_numbers() == public.public_numbers()


def test_load_public_key_tolerates_surrounding_whitespace(private_pem):
    pem = public_key_pem(private_pem)
    assert (
        load_public_key("\n  " + pem + "\n\n").public_numbers()
        == load_public_key(pem).public_numbers()
    )


def test_load_public_key_is_cached(private_pem):
    pem = public_key_pem(private_pem)
    first = load_public_key(pem)
    hits = load_public_key.cache_info().hits
    assert load_public_key(pem) is first
    assert load_public_key.cache_info().hits == hits + 1


def test_load_public_key_rejects_ec_key(ec_private_pem):
    ec_public = (
        serialization.load_pem_private_key(ec_private_pem.encode(), password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ValueError, match="only RSA keys are supported"):
        load_public_key(ec_public)


def test_load_public_key_rejects_ed25519_key():
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ValueError, match="only RSA keys are supported"):
        load_public_key(pem)


def test_load_public_key_rejects_a_private_key(private_pem):
    with pytest.raises(ValueError, match="PEM public key"):
        load_public_key(private_pem)


@pytest.mark.parametrize(
    "pem",
    ["", "garbage", "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n", "é"],
)
def test_load_public_key_rejects_garbage(pem):
    with pytest.raises(ValueError, match="PEM public key"):
        load_public_key(pem)
