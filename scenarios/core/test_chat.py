"""Chat through the gateway: a message crosses chat instances, and a check per step of the
chat flow (history, search, reactions, typing, presence) and of polls (create, vote, close)."""

from __future__ import annotations

import uuid

import pytest

from harness import (
    ApiClient,
    Chat,
    EventListener,
    EvidenceLog,
    Platform,
    check,
    one_check_each,
    require_components,
)
from harness.checks import flows_chat


def _chat_instances(stack: Platform) -> list[str]:
    require_components(stack.names(), "chat")
    return sorted(n for n in stack.names() if n.startswith("chat"))


@check(
    "CORE-002",
    "A message sent on one chat instance arrives on a socket held by another",
    category="core",
    severity="BLOCKER",
    finding="Chat flow: send, retrieve, WebSocket real-time delivery",
    fix="Fan out over Redis pub/sub; deliver locally as well.",
    impact="Messages reach only users on the same chat instance: real-time chat silently drops "
    "deliveries once scaled out.",
)
def test_message_crosses_instances(stack: Platform, api: ApiClient, evidence: EvidenceLog) -> None:
    instances = _chat_instances(stack)
    alice, bob = api.new_session(), api.new_session()
    sender_url = stack.endpoint(instances[0]).url or ""
    listener_url = stack.endpoint(instances[-1]).url or ""
    evidence.note("sender instance / listener instance", f"{instances[0]} / {instances[-1]}")
    with ApiClient(sender_url) as direct, EventListener(listener_url, bob.access_token) as bob_ws:
        bob_ws.wait_for(lambda e: e["type"] == "ready")  # events go to registered sockets
        conversation = Chat(direct, alice).conversation(bob)
        text = f"hello {uuid.uuid4().hex}"
        sent = Chat(direct, alice).send(conversation, text)
        evidence.http("send", sent)
        assert sent.status_code == 201, f"send answered {sent.status_code}"
        event = bob_ws.wait_for(
            lambda e: e["type"] == "message.new" and e["data"].get("content") == text
        )
    evidence.note("delivered event", str(event))


@pytest.mark.parametrize(
    "step",
    one_check_each(
        {
            "CORE-003": "history",
            "CORE-011": "search",
            "CORE-012": "reactions",
            "CORE-013": "typing",
            "CORE-014": "presence",
        },
        "Chat {item} works for the participants and shows nothing to anyone else",
        category="core",
        severity={
            "history": "HIGH",
            "search": "HIGH",
            "reactions": "MEDIUM",
            "typing": "MEDIUM",
            "presence": "MEDIUM",
        },
        finding="Chat flow: {item}; authorization on every conversation (no IDOR)",
        fix="Implement {item} as API.md says; check participation in the service and keep "
        "row-level security behind it.",
        impact="Chat {item} is broken for the people in a conversation, or shows it to people "
        "outside it.",
    )
    + one_check_each(
        {"CORE-015": "poll create", "CORE-016": "poll vote", "CORE-017": "poll close"},
        "{item}: as API.md says, for participants only",
        category="core",
        severity="HIGH",
        finding="BLOCKER-2: polls; chat flow: {item}",
        fix="Implement {item} as API.md says, one ballot per voter, closed by its creator.",
        impact="Polls cannot be trusted: {item} does not do what users were told.",
    ),
)
def test_chat_step(
    step: str, stack: Platform, api: ApiClient, gateway_url: str, evidence: EvidenceLog
) -> None:
    _chat_instances(stack)
    flows_chat.STEPS[step](flows_chat.Room.of(api, gateway_url), evidence)
