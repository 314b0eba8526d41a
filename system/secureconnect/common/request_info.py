"""Who is asking: the client address behind trusted proxies."""

from __future__ import annotations

from starlette.requests import HTTPConnection

#: Peers whose X-Forwarded-For is believed (the gateway, locally).
DEFAULT_TRUSTED_PROXIES = ("127.0.0.1", "::1")


def client_address(connection: HTTPConnection, trusted_proxies: tuple[str, ...] | list[str]) -> str:
    peer = connection.client.host if connection.client else "unknown"
    if peer not in trusted_proxies:
        return peer
    forwarded = connection.headers.get("x-forwarded-for")
    if not forwarded:
        return peer
    # The rightmost entry is the one our own proxy appended.
    return forwarded.split(",")[-1].strip() or peer
