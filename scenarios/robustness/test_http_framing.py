"""Hypothesis: every valid HTTP/1.1 client gets its own answers through the gateway.

Steady state: a signed-in user; the gateway keeps its upstream connections alive.
Unusual but valid: a login sent with `Expect: 100-continue` (curl does so for any
body over 1 KiB), then one with a chunked body, each followed by reads of the
user's own profile on the same client connection.
Expectations: each login answers 401 (wrong password), each read 200: no interim
`100 Continue` taken for an answer, no answer left behind on a kept-alive
connection for another request to read.
"""

from __future__ import annotations

from harness import ApiClient, EvidenceLog, Platform, check, require_components
from harness.checks import http_framing


@check(
    "ROB-012",
    "Expect: 100-continue and chunked bodies get their own answers through the gateway",
    category="robustness",
    severity="HIGH",
    finding="Hostile clients: the gateway forwarded a client's Expect: 100-continue; it took "
    "the upstream's interim 100 for the answer and left the real one on the kept-alive "
    "connection",
    fix="The gateway meets expectations itself (it reads the body before forwarding) and "
    "never forwards Expect upstream.",
    impact="A client that sends Expect (curl, with any body over 1 KiB) gets a broken answer, "
    "and another user's request on the same upstream connection may read that client's answer.",
)
def test_unusual_framing_gets_its_own_answers(
    stack: Platform, api: ApiClient, gateway_url: str, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "auth")
    session = api.new_session()
    seen = http_framing.exchanges(gateway_url, session.access_token)
    evidence.table(
        "requests on one client connection",
        ("request", "expected", "answered", "error"),
        [[e.request, str(e.expected), str(e.status), e.error] for e in seen],
    )
    wrong = [f"{e.request}: {e.status or e.error}" for e in seen if not e.ok]
    assert not wrong, f"answers not the request's own: {'; '.join(wrong)}"
