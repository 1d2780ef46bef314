"""The client's address, as far as it can be trusted.

Behind a reverse proxy every request arrives from the proxy's address, so a per-address
limit keyed on `REMOTE_ADDR` would become one shared limit: thirty wrong PINs from anyone
would lock every person out. `JIKIMI_TRUSTED_PROXIES` (comma-separated addresses or
networks) names the proxies whose `X-Forwarded-For` is believed: the client is the
right-most address in the chain that is not a trusted proxy. Addresses a client wrote
itself (further left) are never used, so it cannot choose its own.
"""

from __future__ import annotations

import ipaddress
from functools import cache

from django.conf import settings


@cache
def _trusted(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec if item.strip())


def _is_trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    networks = _trusted(tuple(settings.JIKIMI_TRUSTED_PROXIES))
    if not networks or not _is_trusted(remote, networks):
        return remote
    chain = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for address in reversed([a for a in chain if a]):
        if not _is_trusted(address, networks):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return remote  # garbage from the proxy: fall back to the proxy itself
    return remote
