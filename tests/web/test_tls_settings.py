"""Settings for nodes whose peers are reached over a private CA or private addresses."""

from __future__ import annotations

import pytest

from web.settings import SettingsError, load

PRODUCTION = {"IWSN_DOMAIN": "iwsn.example.org"}


def test_allowed_private_addresses_reach_the_federation_config():
    settings = load({**PRODUCTION, "IWSN_ALLOWED_PRIVATE_ADDRESSES": "127.0.0.5, 10.1.0.0/16"})
    config = settings.federation_config()
    assert config.allowed_private == ("127.0.0.5/32", "10.1.0.0/16")
    assert config.allow_local is False
    assert load(PRODUCTION).federation_config().allowed_private == ()


def test_allowed_private_addresses_must_be_addresses():
    with pytest.raises(SettingsError) as error:
        load({**PRODUCTION, "IWSN_ALLOWED_PRIVATE_ADDRESSES": "peer.internal"})
    assert "IWSN_ALLOWED_PRIVATE_ADDRESSES" in str(error.value)


def test_ca_file_must_hold_certificates(tmp_path):
    with pytest.raises(SettingsError) as error:
        load({**PRODUCTION, "IWSN_CA_FILE": str(tmp_path / "missing.pem")})
    assert "IWSN_CA_FILE" in str(error.value)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(SettingsError) as error:
        load({**PRODUCTION, "IWSN_CA_FILE": str(junk)})
    assert "IWSN_CA_FILE" in str(error.value)
    assert load(PRODUCTION).federation_config().ca_file is None
