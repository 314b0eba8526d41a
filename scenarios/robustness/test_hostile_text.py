"""Hypothesis: no text a client sends breaks the layers below the API.

Steady state: an owner and a peer sharing a conversation, with a message, a poll,
a file and a call (made on demand by the authorization audit's factories).
Probe: each free-text input of every public operation (body fields, query and path
parameters) receives, one at a time, NUL, a lone surrogate, a C1 control and a
terminal escape, in the otherwise simplest valid request on the owner's real
objects, so the value reaches as far as the operation goes.
Expectations: never a 5xx, and no success that hands the raw character back
(stored as sent); refused (4xx) or stripped are both fine.
"""

from __future__ import annotations

from harness import ApiClient, EvidenceLog, Platform, check, services_of
from harness.checks import authz_objects, contract, hostile_text

COLUMNS = ("operation", "field", "value", "status", "verdict")


@check(
    "ROB-003",
    "NUL, lone surrogates and control characters in any text field are refused, "
    "never a 5xx, never stored",
    category="robustness",
    severity="HIGH",
    finding="Hostile clients: login e-mail, display name, conversation title, message, "
    "poll question, search query and push token answered 500 to U+0000",
    fix="Give every free-text field the shared text type (common/text.py), which refuses "
    "control characters and lone surrogates with 422, instead of checking per route.",
    impact="Anyone can make login, registration, messaging, polls, search and push "
    "registration fail with 500s, and control characters stored in names and messages "
    "spoof what other users see.",
)
def test_hostile_text_is_refused(stack: Platform, api: ApiClient, evidence: EvidenceLog) -> None:
    services = {name: stack.endpoint(name).url or "" for name in services_of(stack)}
    document = contract.read_contract(services)
    owner, peer = api.new_session(), api.new_session()
    report = hostile_text.HostileTextProbe(api.http, owner, peer, authz_objects.FACTORIES).run(
        document
    )
    evidence.number("requests", len(report.probes))
    evidence.number("fields probed", len({(p.route, p.field) for p in report.probes}))
    evidence.table("hostile text per field", COLUMNS, [p.row() for p in report.probes])
    assert report.probes, "the contract has no text field to probe"
    assert not report.problems, "; ".join(report.problems[:8])
