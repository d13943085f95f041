"""The SSRF guard's explicit exceptions (IWSN_ALLOWED_PRIVATE_ADDRESSES): exactly what is
named gets through, everything else private stays refused."""

from __future__ import annotations

import pytest

from federation.netguard import ForbiddenAddress, check_url, is_forbidden_address

ALLOWED = ("127.0.0.5/32", "10.1.0.0/16")


def test_named_addresses_and_networks_pass_and_their_neighbours_do_not():
    for address in ("127.0.0.5", "::ffff:127.0.0.5", "10.1.2.3"):
        assert not is_forbidden_address(address, allow_local=False, allowed=ALLOWED), address
    for address in ("127.0.0.1", "127.0.0.6", "10.2.0.1", "169.254.169.254", "::1"):
        assert is_forbidden_address(address, allow_local=False, allowed=ALLOWED), address


def test_check_url_lets_through_only_the_named_literal():
    check_url("https://127.0.0.5/inbox", allow_local=False, allow_http=False, allowed=ALLOWED)
    with pytest.raises(ForbiddenAddress):
        check_url("https://127.0.0.6/inbox", allow_local=False, allow_http=False, allowed=ALLOWED)
    # Naming an address opens it, not plain http.
    with pytest.raises(ValueError):
        check_url("http://127.0.0.5/inbox", allow_local=False, allow_http=False, allowed=ALLOWED)
