"""No IDOR: every route that takes an id, read from the contract, refuses outsiders."""

from __future__ import annotations

import time

from harness import ApiClient, EvidenceLog, Platform, check, services_of
from harness.checks import authz, authz_objects, authz_sockets, contract


@check(
    "AUTHZ-001",
    "Every route with an id refuses anonymous (401) and outsiders (404, no data); "
    "the owner's call succeeds",
    category="security",
    severity="BLOCKER",
    finding="Security: authorization on every conversation, call and file (no IDOR)",
    fix="Check participation or ownership in the route's service before reading or "
    "writing; answer a non-participant 404 with no data. A new id parameter needs a "
    "factory in harness/checks/library/authz_objects.py.",
    impact="Anyone can read or change other users' conversations, calls or files by naming their "
    "ids.",
)
def test_authorization_matrix(stack: Platform, gateway_url: str, evidence: EvidenceLog) -> None:
    started = time.monotonic()
    services = {name: stack.endpoint(name).url or "" for name in services_of(stack)}
    document = contract.read_contract(services)
    with ApiClient(gateway_url) as api:
        cast = authz.Cast(api.new_session(), api.new_session(), api.new_session())
        audit = authz.AuthorizationAudit(
            api.http, cast, authz_objects.FACTORIES, authz_objects.UNBOUND_IDS
        )
        audit.run(document)
        authz_sockets.audit_sockets(audit, document, gateway_url)
    matrix = audit.matrix
    evidence.table("authorization matrix (route × role → status)", *matrix.table())
    evidence.number("routes in the matrix", len(matrix.rows))
    evidence.note("routes whose ids anyone may name", ", ".join(matrix.unbound) or "none")
    evidence.number("matrix run time", time.monotonic() - started, "s")
    assert matrix.rows, "the contract has no route to audit"
    assert not matrix.defects, "; ".join(matrix.defects)
