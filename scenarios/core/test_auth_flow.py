"""The auth flow of the API contract through the gateway, a check per step: register,
verify the e-mail (the mail read back from the SMTP capture), login, refresh, logout."""

from __future__ import annotations

import pytest

from harness import ApiClient, EvidenceLog, one_check_each
from harness.checks import flows_auth


@pytest.mark.parametrize(
    "step",
    one_check_each(
        dict(
            zip(
                ("CORE-001", "CORE-007", "CORE-008", "CORE-009", "CORE-010"),
                flows_auth.STEPS,
                strict=True,
            )
        ),
        "Auth: {item}",
        category="core",
        severity="BLOCKER",
        finding="Auth flow: register, login, JWT, sessions, revocation, e-mail verification",
        fix="Implement the auth contract of API.md: {item}.",
        impact="Users cannot sign up, verify their address, sign in or sign out safely "
        "({item} is broken): the product is unusable or its sessions cannot be ended.",
    ),
)
def test_auth_step(step: str, api: ApiClient, capture_url: str, evidence: EvidenceLog) -> None:
    flows_auth.STEPS[step](api, capture_url, evidence)
