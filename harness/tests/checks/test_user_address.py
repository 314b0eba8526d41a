"""A user's client connects from an address of its own, never the harness's exempt
127.0.0.1, so the product's per-address throttles (whose counters live in Redis) are on
its path: DEG-001 missed DEF-DEG-LOGIN-FAILS-CLOSED while its users came from 127.0.0.1."""

from __future__ import annotations

import ipaddress

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from harness.checks.library.auth_abuse import user_address
from harness.clients.api import ApiClient
from harness.tests.checks.asgi import served


def echo_peer(request: Request) -> PlainTextResponse:
    assert request.client is not None
    return PlainTextResponse(request.client.host)


def test_a_user_of_a_loopback_gateway_gets_a_loopback_address_of_its_own() -> None:
    address = user_address("http://127.0.0.1:8080")
    assert address is not None and address != "127.0.0.1"
    assert ipaddress.ip_address(address).is_loopback
    assert user_address("http://localhost:8080") is not None


def test_a_user_of_a_remote_gateway_takes_the_machines_own_route() -> None:
    assert user_address("https://staging.example.com") is None
    assert user_address("http://10.1.2.3:8080") is None


def test_the_api_client_connects_from_the_users_address() -> None:
    with served(Starlette(routes=[Route("/", echo_peer)])) as url:
        address = user_address(url)
        with ApiClient(url, local_address=address) as api:
            assert api.http.get("/").text == address
        with ApiClient(url) as harness:
            assert harness.http.get("/").text == "127.0.0.1"
