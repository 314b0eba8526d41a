"""Every service sends the seven security headers, on errors too."""

from __future__ import annotations

import httpx

from harness import EvidenceLog, Platform, check, services_of
from harness.checks import observability


@check(
    "SEC-005",
    "Every service sends the seven security headers, also on 404s",
    category="security",
    severity="HIGH",
    finding="Security headers table (X-Frame-Options ... Permissions-Policy)",
    fix="Apply the security-headers middleware in every service.",
    impact="Browsers allow clickjacking, MIME sniffing and referrer leaks on every response.",
)
def test_security_headers(stack: Platform, evidence: EvidenceLog) -> None:
    defects = []
    for name in services_of(stack):
        for path in ("/health", "/no-such-route"):
            response = httpx.get(f"{stack.endpoint(name).url}{path}", timeout=5)
            defects += observability.header_defects(f"{name} {path}", response)
        evidence.http(f"{name} /health", response)
    assert services_of(stack), "no SecureConnect service is running"
    assert not defects, "; ".join(defects)
