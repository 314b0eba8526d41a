"""Hypothesis: no request a client can send makes the API fail or break its contract.

Steady state: every service healthy; a registered user.
Campaign: every operation of every service's OpenAPI document (the gateway's too),
fuzzed through the gateway by schemathesis, valid and documented-invalid requests,
from a fixed seed with a budget per profile (fuzzing.BUDGETS), in two passes:
anonymous (no token, or whatever the generator puts in the header) and
authenticated (the user's valid token).
Expectations: no 5xx and every answer in time (ROB-001), and afterwards every
component and service healthy; every answer's status, content type and body as
documented, and documented-invalid input refused (ROB-002).
Evidence: calls and statuses per operation; for each failure, the smallest request
Hypothesis shrank it to, as a curl line.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness import ApiClient, EvidenceLog, Inconclusive, Platform, check, services_of
from harness.checks import contract, fuzzing, robustness

FINDING_COLUMNS = ("pass", "operation", "mode", "failure", "status", "smallest request")


@dataclass
class Campaign:
    passes: list[fuzzing.PassResult]
    operations: int
    health: list[str]

    def findings(self, server_side: bool) -> list[fuzzing.Finding]:
        return [f for p in self.passes for f in p.findings.values() if f.server_side == server_side]


@pytest.fixture(scope="module")
def campaign(
    stack: Platform, gateway_url: str, profile: str, experiment_evidence: EvidenceLog
) -> Campaign:
    documents = {
        name: contract.service_document(name, stack.endpoint(name).url or "")
        for name in services_of(stack)
    }
    targets = fuzzing.load_targets(contract.service_document("gateway", gateway_url), documents)
    fuzzer = fuzzing.Fuzzer(gateway_url, targets, fuzzing.BUDGETS[profile])
    with ApiClient(gateway_url) as api:
        user = robustness.FreshSession(api)
        passes = [
            fuzzer.run(fuzzing.Pass("anonymous", dict)),
            fuzzer.run(fuzzing.Pass("authenticated", user.headers, user.renew_if_revoked)),
        ]
    done = Campaign(passes, len(targets), robustness.health_problems(stack))
    _record(done, profile, experiment_evidence)
    return done


def _record(done: Campaign, profile: str, evidence: EvidenceLog) -> None:
    budget = fuzzing.BUDGETS[profile]
    evidence.note(
        "campaign",
        f"seed {fuzzing.FUZZ_SEED}, profile {profile}: {budget.examples} examples per operation, "
        f"mode and pass; {done.operations} operations",
    )
    for result in done.passes:
        evidence.number(f"{result.name} pass: requests", sum(result.calls.values()))
        evidence.number(f"{result.name} pass: 5xx answers", result.server_errors)
        evidence.number(f"{result.name} pass: time", result.seconds, "s")
        statuses = ", ".join(f"{s}×{n}" for s, n in sorted(result.statuses.items()))
        evidence.note(f"{result.name} pass: statuses", statuses or "none")
        if result.skipped:
            evidence.note(f"{result.name} pass: not fuzzed", "; ".join(result.skipped))
        if result.ungenerable:
            evidence.note(
                f"{result.name} pass: no invalid request to make", "; ".join(result.ungenerable)
            )
    evidence.note("health after the campaign", "; ".join(done.health) or "every component ok")


def _judge(
    done: Campaign, findings: list[fuzzing.Finding], evidence: EvidenceLog, what: str
) -> None:
    """Failures fail the check; without any, operations left unfuzzed make it unknown."""
    evidence.number(f"{what}: distinct failures", len(findings))
    if findings:
        rows = [f.row() for f in findings]
        evidence.table(f"{what} (each shrunk to its smallest request)", FINDING_COLUMNS, rows)
    assert not findings, f"{len(findings)} {what}: " + "; ".join(
        f"{f.pass_name} {f.route}: {f.failure} ({f.status})" for f in findings[:5]
    )
    skipped = [s for p in done.passes for s in p.skipped]
    if skipped:
        raise Inconclusive(f"{len(skipped)} operation(s) not fuzzed: {'; '.join(skipped[:3])}")


@check(
    "ROB-001",
    "Fuzzing every operation through the gateway, anonymous and authenticated, "
    "gets no 5xx, and leaves every service healthy",
    category="robustness",
    severity="HIGH",
    finding="Hostile clients: seven routes answered 500 to text holding NUL (U+0000)",
    fix="Validate every input at the edge (one text type for every free-text field, in "
    "common/), so nothing a client sends reaches a layer that fails on it; the curl "
    "line in the evidence reproduces each failure.",
    impact="Any client, some without logging in, can make routes fail with 500s: errors "
    "that page the on-call, fill logs and hide real outages, and inputs that reach "
    "the database unchecked.",
)
def test_fuzzing_finds_no_server_error(campaign: Campaign, evidence: EvidenceLog) -> None:
    assert not campaign.health, f"unhealthy after fuzzing: {'; '.join(campaign.health)}"
    _judge(campaign, campaign.findings(server_side=True), evidence, "server-side failures")


@check(
    "ROB-002",
    "Every fuzzed answer has a documented status, content type and body, and "
    "documented-invalid input is refused",
    category="robustness",
    severity="MEDIUM",
    finding="Hostile clients: the OpenAPI documents declared only 2xx and 422 while routes "
    "answer 400, 401, 404, 409, 413, 429",
    fix="Document every status a route answers, with the error body's schema "
    "(common/openapi.py); refuse what the schema forbids.",
    impact="Clients generated from the contract mishandle the answers they actually get, "
    "and input the contract forbids is accepted and stored.",
)
def test_fuzzing_finds_the_contract_kept(campaign: Campaign, evidence: EvidenceLog) -> None:
    _judge(campaign, campaign.findings(server_side=False), evidence, "contract violations")
