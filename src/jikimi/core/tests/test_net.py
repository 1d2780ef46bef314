"""Which address a per-address limit counts: never one the client wrote itself."""

from __future__ import annotations

import pytest

from jikimi.core.net import client_ip


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        ([], "203.0.113.7", "", "203.0.113.7"),
        # No trusted proxy configured: a forged header is ignored.
        ([], "203.0.113.7", "198.51.100.1", "203.0.113.7"),
        # Behind a trusted proxy: the address the proxy saw.
        (["127.0.0.1"], "127.0.0.1", "198.51.100.1", "198.51.100.1"),
        # The client prepends a fake address; the proxy appends the real one.
        (["127.0.0.1"], "127.0.0.1", "10.9.9.9, 198.51.100.1", "198.51.100.1"),
        # Two proxies in a row (a network given as CIDR).
        (["127.0.0.1", "10.0.0.0/8"], "127.0.0.1", "198.51.100.1, 10.1.2.3", "198.51.100.1"),
        # A request that did not come through the proxy: the header is not believed.
        (["127.0.0.1"], "203.0.113.7", "198.51.100.1", "203.0.113.7"),
        # The proxy sent nothing usable: fall back to the proxy itself.
        (["127.0.0.1"], "127.0.0.1", "", "127.0.0.1"),
        (["127.0.0.1"], "127.0.0.1", "not-an-address", "127.0.0.1"),
        (["::1"], "::1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip(rf, settings, proxies, remote, forwarded, expected):
    settings.JIKIMI_TRUSTED_PROXIES = proxies
    request = rf.post("/c/x", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
