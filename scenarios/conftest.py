"""Helpers shared by the scenario suites."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import AddressOf, ApiClient, Platform
from harness.checks import components


def split_address(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


@pytest.fixture(scope="session")
def direct(stack: Platform) -> AddressOf:
    """(host, port) of a component itself, bypassing Toxiproxy."""
    return lambda name: split_address(stack.endpoint(name).address)


@pytest.fixture(scope="session")
def proxied(stack: Platform) -> AddressOf:
    """(host, port) where services reach a component: its Toxiproxy listen address."""

    def lookup(name: str) -> tuple[str, int]:
        listen = stack.endpoint(name).proxy_listen
        assert listen is not None, f"{name} has no Toxiproxy proxy in front of it"
        return split_address(listen)

    return lookup


@pytest.fixture(scope="session")
def gateway_url(stack: Platform) -> str:
    if "gateway" not in stack.names():
        pytest.skip("the stack has no gateway")
    url = stack.endpoint("gateway").url
    assert url is not None
    return url


@pytest.fixture(scope="session")
def capture_url(stack: Platform) -> str:
    url = stack.endpoint("capture").url
    assert url is not None
    return url


@pytest.fixture
def api(gateway_url: str) -> Iterator[ApiClient]:
    with ApiClient(gateway_url) as client:
        yield client


@pytest.fixture(scope="session")
def shipped(compose_dir: Path) -> components.Shipped:
    """The shipped compose files as the compose tool renders them, once per session."""
    return components.render_shipped(compose_dir)
