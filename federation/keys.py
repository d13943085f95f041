"""RSA key pairs for actors, in the PEM forms the fediverse exchanges.

Keys are handled as PEM strings everywhere outside this module: that is what
actor documents publish and what the database stores. Parsing is cached because
the same few keys are loaded again on every signed request.
"""

from __future__ import annotations

import functools

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = [
    "generate_private_key_pem",
    "load_private_key",
    "load_public_key",
    "public_key_pem",
]

# Mastodon and every other major server use RSA-2048 with e=65537.
_KEY_SIZE = 2048
_PUBLIC_EXPONENT = 65537


def generate_private_key_pem() -> str:
    """A new RSA-2048 private key as unencrypted PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=_PUBLIC_EXPONENT, key_size=_KEY_SIZE)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")


def public_key_pem(private_key_pem: str) -> str:
    """The SubjectPublicKeyInfo PEM of a private key, as published in `publicKeyPem`."""
    return (
        load_private_key(private_key_pem)
        .public_key()
        .public_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )


# Our own keys: one per local actor, so a small cache holds them all.
@functools.lru_cache(maxsize=256)
def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Parse an unencrypted PEM private key (PKCS#8 or PKCS#1); it must be RSA."""
    try:
        key = serialization.load_pem_private_key(pem.strip().encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a readable unencrypted PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"private key is {type(key).__name__}, only RSA keys are supported")
    return key


# Remote keys: one per actor that talks to us; sized for a busy inbox's working set.
@functools.lru_cache(maxsize=4096)
def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """Parse a PEM public key, SubjectPublicKeyInfo or PKCS#1 ("BEGIN RSA PUBLIC KEY").

    Raises ValueError for anything that is not a well-formed RSA public key.
    """
    try:
        # Both PEM labels are recognised here; some servers publish the PKCS#1 form.
        key = serialization.load_pem_public_key(pem.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a readable PEM public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"public key is {type(key).__name__}, only RSA keys are supported")
    return key
