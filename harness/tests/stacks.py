"""Clients of the small stacks in harness/tests/conftest.py."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from harness.platform.local import LocalPlatform


def redis_via_proxy(platform: LocalPlatform, timeout_s: float = 0.3) -> redis.Redis:
    """A client of Redis through its proxy that neither retries nor waits long."""
    host, port = (platform.endpoint("redis").proxy_listen or "").rsplit(":", 1)
    return redis.Redis(
        host=host,
        port=int(port),
        password=platform.secret("redis_password"),
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
    )
