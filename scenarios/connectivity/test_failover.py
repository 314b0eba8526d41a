"""A service with two instances keeps answering when one of them dies.

Steady state: chat runs as two instances behind the gateway, a user with a conversation.
Fault: one chat instance killed (SIGKILL; it restarts by itself, so the requests go out
at once). Expectation: every request sent meanwhile is answered by the other instance:
none gets a 502 from the gateway, which takes turns between the instances. Proof: the
gateway counted requests it moved off the dead instance, or a 502 shows requests still
reached it; with neither, the instance was back before any request went to it, and the
check is unknown.
"""

from __future__ import annotations

from collections import Counter

from harness import (
    ApiClient,
    EvidenceLog,
    FaultInjector,
    Inconclusive,
    Platform,
    check,
    metric_sample,
    require_components,
)
from harness.checks import components

#: Requests sent while an instance is down: with two instances in turn, half go to it.
REQUESTS = 12
FAILOVERS = "gateway_upstream_failovers_total"


@check(
    "CONN-011",
    "With one of two chat instances killed, the gateway sends its share to the other: "
    "no request fails",
    category="connectivity",
    severity="HIGH",
    finding="Inter-service connectivity: a scaled service must survive one instance",
    fix="When the gateway cannot connect to an instance (refused, or its name gone with its "
    "container), nothing was sent: send the request to the next instance; 502 only when "
    "none can be reached.",
    impact="Every crash or restart of one instance fails the share of users' requests the "
    "gateway sends it, although another instance could answer them.",
)
def test_the_gateway_fails_over_to_a_live_instance(
    stack: Platform, api: ApiClient, faults: FaultInjector, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "gateway", "chat")
    chats = components.instances(stack, "chat")
    if len(chats) < 2:
        raise Inconclusive(f"chat runs as {len(chats)} instance(s): no other to fail over to")
    alice = api.new_session()
    gateway = stack.endpoint("gateway").url or ""
    before = metric_sample(gateway, FAILOVERS, upstream="chat")
    faults.kill(chats[0])
    statuses = Counter(
        api.http.get("/api/v1/conversations", headers=alice.headers).status_code
        for _ in range(REQUESTS)
    )
    moved = metric_sample(gateway, FAILOVERS, upstream="chat") - before
    evidence.table("answers while it was down", ["status", "requests"], sorted(statuses.items()))
    evidence.number("requests the gateway moved to the other instance", moved)
    if not moved and not statuses[502]:
        raise Inconclusive(f"{chats[0]} was back before a request went to it")
    assert set(statuses) == {200}, f"with {chats[0]} down: {dict(statuses)}"
