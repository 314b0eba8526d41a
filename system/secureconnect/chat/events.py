"""The events of `/ws`: their names and their wire form `{"type": T, "data": {...}}`.

Those other services publish (calls, revoked sessions) are named in common/bus.py.
"""

from __future__ import annotations

import json
from typing import Any

from secureconnect.common.bus import CALL_INCOMING, CALL_UPDATED, SESSION_REVOKED

MESSAGE_NEW = "message.new"
REACTION_ADDED = "reaction.added"
REACTION_REMOVED = "reaction.removed"
TYPING = "typing"
PRESENCE = "presence"
POLL_CREATED = "poll.created"
POLL_UPDATED = "poll.updated"
POLL_CLOSED = "poll.closed"

#: Every event a socket may receive.
EVENT_TYPES = frozenset(
    {
        MESSAGE_NEW,
        REACTION_ADDED,
        REACTION_REMOVED,
        TYPING,
        PRESENCE,
        POLL_CREATED,
        POLL_UPDATED,
        POLL_CLOSED,
        CALL_INCOMING,
        CALL_UPDATED,
    }
)
#: Events for the instances themselves, never sent to a socket.
CONTROL_EVENT_TYPES = frozenset({SESSION_REVOKED})
#: Every event the bus carries.
BUS_EVENT_TYPES = EVENT_TYPES | CONTROL_EVENT_TYPES


def encode(event_type: str, data: dict[str, Any]) -> str:
    """The frame as sent to sockets; encoded once per event, not once per socket."""
    return json.dumps({"type": event_type, "data": data}, separators=(",", ":"))
