"""WebSocket routes of the authorization matrix: `/ws/calls/{call_id}` and any other
route listed under `x-websockets` with an id in its path.

Anonymous and outsiders must be refused (at the handshake, or by a close right after
it) before any frame reaches them; the owner's socket opens and stays open.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from harness.checks.library.authz import AuthorizationAudit, Row
from harness.checks.library.contract import ID_NAME, Contract

#: How long a socket is given to be refused, or to send its first frame, seconds.
SOCKET_DEADLINE_S = 5.0


def socket_outcome(url: str, headers: Mapping[str, str]) -> tuple[str, bool]:
    """What the socket did, and whether a frame reached the client."""
    try:
        with connect(
            url, additional_headers=dict(headers), open_timeout=SOCKET_DEADLINE_S
        ) as socket:
            frame = socket.recv(timeout=SOCKET_DEADLINE_S)
            return f"frame {str(frame)[:40]!r}", True
    except InvalidStatus as exc:
        return f"refused {exc.response.status_code}", False
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd is not None else "without a code"
        return f"closed {code}", False
    except TimeoutError:
        return "open, silent", False


def audit_sockets(audit: AuthorizationAudit, contract: Contract, base_url: str) -> None:
    """Adds a row per WebSocket route with an id to the audit's matrix."""
    if not contract.lists_websockets:
        audit.matrix.uncovered.append(
            "no service lists its WebSocket routes (x-websockets in /openapi.json): "
            "their authorization is not audited"
        )
    ws_base = base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    for route in contract.websockets:
        ids = [name for name in route.parameters if ID_NAME.search(name)]
        label = f"WS {route.path}"
        if not ids or not audit.covered(label, ids):
            continue
        scope = audit.scope()
        values = {name: audit.factories[name].make(scope) for name in ids}
        url = ws_base + route.path.format(**{k: quote(str(v), safe="") for k, v in values.items()})
        row = Row(label, {})
        for role, headers in (
            ("anonymous", {}),
            ("outsider", audit.cast.outsider.headers),
            ("owner", audit.cast.owner.headers),
        ):
            outcome, framed = socket_outcome(url, headers)
            row.cells[role] = outcome
            refused = outcome.startswith(("refused", "closed"))
            if role == "owner" and refused:
                row.problems.append(f"the owner's socket was {outcome}: the route is unusable")
            elif role != "owner" and (framed or not refused):
                row.problems.append(f"{role}'s socket was not refused: {outcome}")
        audit.matrix.rows.append(row)
