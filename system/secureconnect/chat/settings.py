"""ChatSettings: the one settings class of the chat service."""

from __future__ import annotations

import os
import secrets
import socket

from pydantic import Field

from secureconnect.common.settings import (
    DatabaseSettings,
    JwtSettings,
    RedisSettings,
    ServiceSettings,
)


def default_instance_id() -> str:
    """Unique per process: a restarted instance must not inherit its predecessor's presence."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class ChatSettings(ServiceSettings, DatabaseSettings, RedisSettings, JwtSettings):
    service_name: str = "chat"
    #: Every message is a transaction: enough pooled connections that bursts do not
    #: open (TLS + SCRAM) and close overflow connections all the time.
    db_pool_size: int = 15
    db_max_overflow: int = 5
    #: Names this process on the event bus and in presence records.
    instance_id: str = Field(default_factory=default_instance_id)
