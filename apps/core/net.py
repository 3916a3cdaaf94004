"""Who is asking: the client address under the deployment's proxy rule, in one place.

X-Forwarded-For is written by whoever sends the request, so it is read only when settings say
how many proxies of ours stand in front (NUM_PROXIES), and then only the entry our outermost
proxy appended: the NUM_PROXIES-th from the right (DRF's throttles and allauth's limits read it
the same way: REST_FRAMEWORK["NUM_PROXIES"], ALLAUTH_TRUSTED_PROXY_COUNT). With 0 the header is
ignored and the address is the socket's.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

# Headers a reverse proxy adds. A request carrying one came through a proxy, whatever its
# socket address says (a proxy on the same machine connects from 127.0.0.1).
PROXY_HEADERS = (
    "Forwarded",
    "X-Forwarded-For",
    "X-Real-IP",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
)


def num_proxies() -> int:
    return int(getattr(settings, "NUM_PROXIES", 0) or 0)


def client_address(request: HttpRequest) -> str:
    """The client's address as a normalised string, or "" when it cannot be read."""
    address = request.META.get("REMOTE_ADDR", "")
    hops = num_proxies()
    forwarded = request.headers.get("X-Forwarded-For", "")
    if hops and forwarded:
        entries = [e.strip() for e in forwarded.split(",") if e.strip()]
        if entries:
            address = entries[-min(hops, len(entries))]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return ""


def came_through_untrusted_proxy(request: HttpRequest) -> bool:
    """True when a proxy we were not told about forwarded the request: its socket address is
    the proxy's, not the client's, so it must not pass an address allow-list."""
    return num_proxies() == 0 and any(h in request.headers for h in PROXY_HEADERS)
