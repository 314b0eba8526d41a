"""The events of `/ws`: their names and their wire form `{"type": T, "data": {...}}`."""

from __future__ import annotations

import json
from typing import Any

MESSAGE_NEW = "message.new"
REACTION_ADDED = "reaction.added"
REACTION_REMOVED = "reaction.removed"
TYPING = "typing"
PRESENCE = "presence"
POLL_CREATED = "poll.created"
POLL_UPDATED = "poll.updated"
POLL_CLOSED = "poll.closed"
CALL_INCOMING = "call.incoming"
CALL_UPDATED = "call.updated"
#: A session or access token was revoked (logout, refresh-token reuse): sockets opened
#: with it are closed on every instance. Data: {user_id, session_id, token_ids}.
SESSION_REVOKED = "session.revoked"

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
#: What other services may publish through the internal path.
EXTERNAL_EVENT_TYPES = frozenset({CALL_INCOMING, CALL_UPDATED, SESSION_REVOKED})


def encode(event_type: str, data: dict[str, Any]) -> str:
    """The frame as sent to sockets; encoded once per event, not once per socket."""
    return json.dumps({"type": event_type, "data": data}, separators=(",", ":"))
