"""The harness's HTTP clients drop idle connections before any server of the stack closes
them (harness/keepalive.py): no request is sent on a connection the server is closing."""

from __future__ import annotations

import httpx
import uvicorn

from harness.clients.api import ApiClient
from harness.keepalive import CLIENT_KEEPALIVE_EXPIRY_S
from harness.toxiproxy.client import ToxiproxyClient
from harness.toxiproxy.server import API_KEEPALIVE_S

NOWHERE = "http://127.0.0.1:9"


def _keepalive_expiry(client: httpx.Client) -> float:
    return client._transport._pool._keepalive_expiry  # type: ignore[attr-defined]


def test_clients_give_up_idle_connections_well_before_the_servers() -> None:
    services_idle_s = uvicorn.Config("secureconnect.auth.app:app").timeout_keep_alive
    assert CLIENT_KEEPALIVE_EXPIRY_S <= services_idle_s / 2
    assert CLIENT_KEEPALIVE_EXPIRY_S <= API_KEEPALIVE_S / 2


def test_the_api_and_toxiproxy_clients_use_that_expiry() -> None:
    with ApiClient(NOWHERE) as api, ToxiproxyClient(NOWHERE) as toxiproxy:
        assert _keepalive_expiry(api.http) == CLIENT_KEEPALIVE_EXPIRY_S
        assert _keepalive_expiry(toxiproxy._http) == CLIENT_KEEPALIVE_EXPIRY_S
