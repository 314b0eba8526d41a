"""The harness stack's data stores as the services reach them: through the Toxiproxy
proxies, with the run's generated secrets and TLS to PostgreSQL. For tests that look
into a store directly or run a service's code in-process against the stack."""

from __future__ import annotations

import ssl
from typing import Any

import asyncpg
from redis.asyncio import Redis
from secureconnect.common.settings import Environment

from harness.platform.base import Platform
from harness.platform.components.datastores import APP_DATABASE, APP_ROLE


def proxied_address(stack: Platform, component: str) -> tuple[str, int]:
    """(host, port) of the Toxiproxy proxy in front of `component`."""
    host, port = str(stack.endpoint(component).proxy_listen).rsplit(":", 1)
    return host, int(port)


def redis_client(stack: Platform) -> Redis:
    """A client of the stack's Redis (str replies); the caller closes it (`aclose`)."""
    host, port = proxied_address(stack, "redis")
    password = stack.secret("redis_password")
    return Redis(host=host, port=port, password=password, decode_responses=True)


async def connect_postgres(stack: Platform) -> asyncpg.Connection:
    """A TLS connection to the application database as the application role."""
    host, port = proxied_address(stack, "postgres")
    return await asyncpg.connect(
        host=host,
        port=port,
        user=APP_ROLE,
        database=APP_DATABASE,
        password=stack.secret("db_password"),
        ssl=ssl.create_default_context(cafile=str(stack.ca_certificate())),
    )


def settings_for(stack: Platform) -> dict[str, Any]:
    """A service's settings for this stack (data stores, JWT key, SMTP), as keyword
    arguments of any service settings class; each class takes the fields it has."""
    db_host, db_port = proxied_address(stack, "postgres")
    redis_host, redis_port = proxied_address(stack, "redis")
    smtp_host, smtp_port = stack.endpoint("capture").extra["smtp"].rsplit(":", 1)
    return {
        "environment": Environment.TEST,
        "db_host": db_host,
        "db_port": db_port,
        "db_name": APP_DATABASE,
        "db_user": APP_ROLE,
        "db_password": stack.secret("db_password"),
        "db_ssl_ca_file": stack.ca_certificate(),
        "redis_host": redis_host,
        "redis_port": redis_port,
        "redis_password": stack.secret("redis_password"),
        "jwt_secret": stack.secret("jwt_secret"),
        "smtp_host": smtp_host,
        "smtp_port": int(smtp_port),
    }
