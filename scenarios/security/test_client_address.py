"""The gateway is the edge: the address a client's requests are counted under (its
per-address rate limits, the X-Forwarded-For the services behind it trust, the logs)
is its peer's, whatever headers the client sends.

SEC-031 sends a request through the gateway with an X-Forwarded-For of a documentation
address and reads the gateway's access log line of that request (found by its
X-Request-ID): the client recorded there is the one the rate limits counted.
"""

from __future__ import annotations

import json
import uuid

import httpx

from harness import EvidenceLog, Inconclusive, Platform, check, eventually, require_components
from harness.checks import observability

#: TEST-NET-3 (RFC 5737): never a real client of the stack.
CHOSEN_ADDRESS = "203.0.113.77"
PATH = "/api/v1/auth/me"
#: Log lines are written as the request ends; a few seconds cover a loaded machine.
LOG_DEADLINE_S = 10.0


@check(
    "SEC-031",
    "A client cannot choose the address the gateway counts it under by sending X-Forwarded-For",
    category="security",
    severity="HIGH",
    finding="Security: per-address rate limits (the login's brute-force limit among them) "
    "keyed by an address the client writes itself",
    fix="At the edge take the peer's address: the gateway's server must not read "
    "X-Forwarded-For from its clients (uvicorn proxy_headers off); the services behind it "
    "trust that header from the gateway only.",
    impact="A client that rotates X-Forwarded-For escapes every per-address limit, the "
    "login's brute-force limit included, and writes any address it likes into the logs.",
)
def test_client_cannot_choose_its_address(
    stack: Platform, gateway_url: str, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "gateway")
    request_id = f"readiness-{uuid.uuid4().hex}"
    headers = {"X-Request-ID": request_id, "X-Forwarded-For": CHOSEN_ADDRESS}
    evidence.http("with X-Forwarded-For", httpx.get(f"{gateway_url}{PATH}", headers=headers))
    try:
        record = eventually(
            lambda: observability.logged_request(stack.logs("gateway"), request_id),
            LOG_DEADLINE_S,
            0.5,
        )
    except TimeoutError:
        raise Inconclusive(f"the gateway logged no line for {request_id}") from None
    evidence.note("the gateway's access log line", json.dumps(record))
    assert record.get("client") != CHOSEN_ADDRESS, (
        f"the gateway counted the request under {CHOSEN_ADDRESS}, the address the client "
        "wrote in X-Forwarded-For"
    )
