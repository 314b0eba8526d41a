"""CORS: no foreign web origin reads the API with a user's credentials."""

from __future__ import annotations

from harness import CORS_ALLOWED_ORIGIN, ApiClient, EvidenceLog, Platform, check, services_of
from harness.checks import cors

#: A route that answers with the user's data when the credentials are good.
GATEWAY_API_PATH = "/api/v1/auth/me"


@check(
    "SEC-009",
    "CORS: foreign origins get no credentialed access nor preflight, through the gateway "
    "and at every service; the allowed origin works",
    category="security",
    severity="HIGH",
    finding="Security: a wildcard or reflected CORS origin with credentials lets any web "
    "site call the API as its visitor",
    fix="Allow only the configured origins (SC_CORS_ORIGINS, on the gateway); never "
    "allow_origins=['*'] or a catch-all regex together with allow_credentials=True.",
    impact="Any web site a user visits can call the API with the user's credentials and read "
    "their data.",
)
def test_cors_refuses_foreign_origins(
    stack: Platform, gateway_url: str, evidence: EvidenceLog
) -> None:
    with ApiClient(gateway_url) as api:
        token = api.new_session().headers
    defects = []
    for name in services_of(stack):
        gateway = name == "gateway"
        defects += cors.cors_defects(
            name,
            stack.endpoint(name).url or "",
            ["/health", GATEWAY_API_PATH] if gateway else ["/health"],
            token,
            evidence,
            allowed_origins=[CORS_ALLOWED_ORIGIN] if gateway else [],
        )
    assert not defects, "; ".join(defects)
