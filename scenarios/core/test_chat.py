"""Messages reach the other participant's socket, across chat instances, and stay private."""

from __future__ import annotations

import uuid

from harness import ApiClient, Chat, EventListener, EvidenceLog, Platform, check, require_components


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


@check(
    "CORE-003",
    "History, search and reactions work and a non-participant sees 404 everywhere",
    category="core",
    severity="HIGH",
    finding="Chat flow; authorization on every conversation (no IDOR)",
    fix="Check participation in the service and keep row-level security behind it.",
    impact="Users cannot find or react to messages, or outsiders read conversations they are not "
    "part of.",
)
def test_history_search_reactions_and_privacy(
    stack: Platform, api: ApiClient, evidence: EvidenceLog
) -> None:
    _chat_instances(stack)
    alice, bob, eve = api.new_session(), api.new_session(), api.new_session()
    chat = Chat(api, alice)
    conversation = chat.conversation(bob)
    word = f"zebra{uuid.uuid4().hex[:8]}"
    message = chat.send(conversation, f"the {word} crossed").json()
    assert [m["message_id"] for m in chat.history(conversation)] == [message["message_id"]]
    found = api.http.get("/api/v1/search/messages", params={"q": word}, headers=bob.headers)
    assert [m["message_id"] for m in found.json()["results"]] == [message["message_id"]]
    reaction = api.http.post(
        f"/api/v1/messages/{message['message_id']}/reactions",
        json={"emoji": "👍"},
        headers=bob.headers,
    )
    assert reaction.status_code == 201, f"reaction answered {reaction.status_code}"
    outsider = {
        "history": api.http.get(
            f"/api/v1/conversations/{conversation}/messages", headers=eve.headers
        ).status_code,
        "send": Chat(api, eve).send(conversation, "let me in").status_code,
        "react": api.http.post(
            f"/api/v1/messages/{message['message_id']}/reactions",
            json={"emoji": "👍"},
            headers=eve.headers,
        ).status_code,
        "search hits": len(
            api.http.get("/api/v1/search/messages", params={"q": word}, headers=eve.headers).json()[
                "results"
            ]
        ),
    }
    evidence.note("a non-participant's attempts", str(outsider))
    assert outsider == {"history": 404, "send": 404, "react": 404, "search hits": 0}, outsider
