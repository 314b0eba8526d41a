"""Every service sends each of the seven security headers, on errors too: a check per header."""

from __future__ import annotations

import httpx
import pytest

from harness import EvidenceLog, Platform, one_check_each, services_of
from harness.checks import observability

#: A check per header of the seed's security-headers table.
HEADER_CHECKS = {
    "SEC-005": "x-frame-options",
    "SEC-011": "x-content-type-options",
    "SEC-012": "x-xss-protection",
    "SEC-013": "strict-transport-security",
    "SEC-014": "referrer-policy",
    "SEC-015": "content-security-policy",
    "SEC-016": "permissions-policy",
}


@pytest.mark.parametrize(
    "header",
    one_check_each(
        HEADER_CHECKS,
        "Every service sends {item} as the seed requires, also on 404s",
        category="security",
        severity="HIGH",
        finding="Security headers table: {item}",
        fix="Apply the security-headers middleware (it sends {item}) in every service.",
        impact="Without {item} browsers allow what it forbids (clickjacking, MIME sniffing, "
        "referrer leaks, plain HTTP, foreign scripts or devices) on every response.",
    ),
)
def test_security_header(header: str, stack: Platform, evidence: EvidenceLog) -> None:
    defects = []
    for name in services_of(stack):
        for path in ("/health", "/no-such-route"):
            response = httpx.get(f"{stack.endpoint(name).url}{path}", timeout=5)
            defect = observability.header_defect(f"{name} {path}", response, header)
            defects += [defect] if defect else []
        evidence.note(f"{name} {header}", str(response.headers.get(header)))
    assert services_of(stack), "no SecureConnect service is running"
    assert not defects, "; ".join(defects)
