"""Hypothesis: logout ends a session's part in calls too, not only its chat sockets.

Steady state: alice placed a call to bob and carol, bob joined; both hold the
call's signaling socket (`/ws/calls/{id}`) through the gateway.
Abuse: alice's session is logged out (as a stolen device's is revoked) while
her signaling socket stays open.
Expectations: within video's own recheck period (published as
policy_period_seconds{period="signaling_revocation_recheck"}) plus a few
seconds, her socket is closed with 4401; bob hears `peer.left` and his own
socket goes on answering.
"""

from __future__ import annotations

from harness import ApiClient, EvidenceLog, Platform, check, policy_period, require_components
from harness.checks import flows_calls, revoked_signaling

CLOSE_UNAUTHORIZED = 4401
#: Beyond video's recheck period: the revocation lookup and the close handshake, seconds.
CLOSE_SLACK_S = 3.0


@check(
    "ROB-011",
    "Logout closes the session's call signaling sockets",
    category="robustness",
    severity="HIGH",
    finding="Hostile clients: a call's signaling socket opened before logout stayed open, "
    "relaying offers and ICE candidates, until its token expired",
    fix="Look every open signaling socket's token up in the revocation list each period "
    "(and check its expiry); close revoked or expired ones with 4401.",
    impact="A logged-out (or stolen, then revoked) session stays in the user's calls, "
    "negotiating media, for up to the token's lifetime: logout does not end access.",
)
def test_logout_closes_signaling(
    stack: Platform, api: ApiClient, gateway_url: str, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "auth", "chat", "video")
    recheck_s = policy_period(stack.endpoint("video").url or "", "signaling_revocation_recheck")
    deadline_s = recheck_s + CLOSE_SLACK_S
    evidence.number("deadline: video's recheck period + slack", deadline_s, "s")
    call = flows_calls.Call.place(api)
    assert call.act(call.bob, "join").status_code == 200, "bob could not join the call"
    seen = revoked_signaling.observe_logout(call, gateway_url, deadline_s)
    call.act(call.bob, "end")
    evidence.number("logout answered", seen.logout_status)
    evidence.note("alice's socket", str(seen.close or f"still open after {deadline_s:.0f}s"))
    if seen.closed_after_s is not None:
        evidence.number("alice's socket closed after", seen.closed_after_s, "s")
    evidence.note("bob's socket", seen.peer_problem or "heard alice leave, still answers")
    assert seen.logout_status == 204, f"logout answered {seen.logout_status}"
    assert seen.close is not None, f"alice's socket still open {deadline_s:.0f}s after logout"
    assert seen.close[0] == CLOSE_UNAUTHORIZED, f"closed with {seen.close}, not 4401"
    assert not seen.peer_problem, f"bob's socket: {seen.peer_problem}"
