"""The data stores demand credentials, and PostgreSQL demands verified TLS.

Each check judges a data store (or the TURN server) on its own, so its steady
state leaves the services out: a store that refuses the services' credentials or
TLS degrades them, and that must not make the check that finds it unknown.
"""

from __future__ import annotations

import pytest

from harness import AddressOf, EvidenceLog, Platform, check
from harness.checks import transport

pytestmark = pytest.mark.steady_state(services=False)


@check(
    "SEC-001",
    "PostgreSQL refuses plain-text connections and presents the deployment's cert",
    category="security",
    severity="BLOCKER",
    finding="BLOCKER-1 / Security HIGH-1: database running in insecure mode (no TLS)",
    fix="ssl=on with the deployment CA; pg_hba: hostssl only, hostnossl reject.",
    impact="Database traffic can be read or altered on the network, and a rogue server can pose "
    "as PostgreSQL.",
)
async def test_postgres_requires_verified_tls(
    stack: Platform, proxied: AddressOf, evidence: EvidenceLog
) -> None:
    host, port = proxied("postgres")
    await transport.postgres_requires_verified_tls(
        host, port, "secureconnect", stack.secret("db_password"), stack.ca_certificate(), evidence
    )


@check(
    "SEC-002",
    "Redis refuses clients without the password",
    category="security",
    severity="HIGH",
    finding="Secrets: Redis password from a Docker secret",
    fix="requirepass from a secret file; clients read REDIS_PASSWORD_FILE.",
    impact="Whoever reaches Redis can read or forge sessions and revocations.",
)
def test_redis_requires_a_password(
    stack: Platform, proxied: AddressOf, evidence: EvidenceLog
) -> None:
    transport.redis_requires_password(*proxied("redis"), stack.secret("redis_password"), evidence)


@check(
    "SEC-003",
    "S3 refuses unsigned and wrongly signed requests",
    category="security",
    severity="HIGH",
    finding="Secrets: MinIO access and secret keys from Docker secrets",
    fix="Run the S3 server with an access key and secret key from secret files.",
    impact="Whoever reaches the object store can read or write every user's files.",
)
def test_s3_requires_signatures(stack: Platform, proxied: AddressOf, evidence: EvidenceLog) -> None:
    host, port = proxied("s3")
    transport.s3_requires_signatures(
        f"{host}:{port}", stack.secret("s3_access_key"), stack.secret("s3_secret_key"), evidence
    )


@check(
    "SEC-004",
    "TURN accepts generated REST credentials and rejects test:test, expired, forged",
    category="security",
    severity="BLOCKER",
    finding="BLOCKER-6 / HIGH-1: TURN health check uses invalid test:test credentials",
    fix="coturn use-auth-secret with static-auth-secret from a secret file.",
    impact="The TURN server becomes an open relay for anyone, or real users cannot allocate "
    "relays.",
)
def test_turn_uses_rest_credentials(
    stack: Platform, direct: AddressOf, evidence: EvidenceLog
) -> None:
    transport.turn_uses_rest_secret(*direct("coturn"), stack.secret("turn_secret"), evidence)
