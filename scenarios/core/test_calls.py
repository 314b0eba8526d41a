"""The call flow through the gateway, a check per step (create, join, leave, end), and the
TURN credentials the API hands out."""

from __future__ import annotations

import pytest

from harness import ApiClient, EvidenceLog, Platform, check, one_check_each, require_components
from harness.checks import flows_calls


@pytest.mark.parametrize(
    "step",
    one_check_each(
        {"CORE-018": "create", "CORE-019": "join", "CORE-020": "leave", "CORE-021": "end"},
        "Call {item}: the call and its participants move as the state machine says",
        category="core",
        severity="HIGH",
        finding="Video flow: call {item}",
        fix="Decide call {item} under the call row's lock, as the state machine of API.md says.",
        impact="Calls do not {item} as users expect: they ring forever, end under people, or "
        "cannot be joined.",
    ),
)
def test_call_step(step: str, stack: Platform, api: ApiClient, evidence: EvidenceLog) -> None:
    require_components(stack.names(), "video", "chat")
    flows_calls.judge_step(flows_calls.Call.place(api), step, evidence)


@check(
    "CORE-022",
    "TURN credentials: <expiry>:<user> valid for their ttl, HMAC-SHA1 of the shared secret",
    category="core",
    severity="HIGH",
    finding="Video flow: TURN credentials (BLOCKER-6 / HIGH-9)",
    fix="Issue `expiry:user_id` usernames, expiry now + ttl, HMAC-SHA1 of static-auth-secret.",
    impact="Calls through TURN fail (credentials coturn refuses, or that expired on issue).",
)
def test_turn_credentials(stack: Platform, api: ApiClient, evidence: EvidenceLog) -> None:
    require_components(stack.names(), "video")
    flows_calls.judge_turn_credentials(api, stack.secret("turn_secret"), evidence)
