"""A service with two instances keeps answering when one of them dies.

Steady state: chat runs as two instances behind the gateway, a signed-in user.
Fault: one chat instance killed (SIGKILL; it restarts by itself, so the traffic goes out
at once). Expectation: every request and every `/ws` socket opened meanwhile is served by
the other instance: no request gets a 502 from the gateway, which takes turns between the
instances, and every socket answers a ping (a socket the gateway could not connect
upstream is closed with 1013). Proof, for requests and sockets each: the gateway counted
some it moved off the dead instance, or a 502 (a 1013) shows some still went to it; with
neither, the instance was back before any went to it, and the check is unknown.
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
from harness.checks import components, connectivity

#: Rounds of two requests then two sockets while an instance is down: the gateway takes
#: turns between the instances for both kinds, so pairs reach each instance whatever
#: the turn (one of each would leave one kind always on the same instance).
ROUNDS = 6
FAILOVERS = "gateway_upstream_failovers_total"
#: How long a socket is given to open and answer a ping, seconds.
SOCKET_S = 5.0


@check(
    "CONN-011",
    "With one of two chat instances killed, the gateway sends its share to the other: "
    "no request or socket fails",
    category="connectivity",
    severity="HIGH",
    finding="Inter-service connectivity: a scaled service must survive one instance",
    fix="When the gateway cannot connect to an instance (refused, or its name gone with its "
    "container), nothing was sent: send the request or the socket to the next instance; "
    "502 (a 1013 close) only when none can be reached.",
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
    requests, sockets, moved = Counter[str](), Counter[str](), Counter[str]()
    faults.kill(chats[0])
    counted = metric_sample(gateway, FAILOVERS, upstream="chat")
    for _ in range(ROUNDS):
        for _ in range(2):
            status = api.http.get("/api/v1/conversations", headers=alice.headers).status_code
            requests[str(status)] += 1
        counted, moved["requests"] = _moved(gateway, counted, moved["requests"])
        for _ in range(2):
            sockets[connectivity.chat_socket_answers(gateway, alice.access_token, SOCKET_S)] += 1
        counted, moved["sockets"] = _moved(gateway, counted, moved["sockets"])
    evidence.table("answers while it was down", ["status", "requests"], sorted(requests.items()))
    evidence.table("sockets while it was down", ["outcome", "sockets"], sorted(sockets.items()))
    evidence.table("moved to the other instance", ["kind", "count"], sorted(moved.items()))
    failed = [f"requests {dict(requests)}"] if set(requests) != {"200"} else []
    failed += [f"sockets {dict(sockets)}"] if set(sockets) != {"pong"} else []
    assert not failed, f"with {chats[0]} down: {'; '.join(failed)}"
    if not moved["requests"] or not moved["sockets"]:
        raise Inconclusive(f"{chats[0]} was back before every kind of traffic went to it: {moved}")


def _moved(gateway: str, counted: float, moved: int) -> tuple[float, int]:
    """The gateway's failover count now, and `moved` plus what it grew by."""
    now = metric_sample(gateway, FAILOVERS, upstream="chat")
    return now, moved + int(now - counted)
