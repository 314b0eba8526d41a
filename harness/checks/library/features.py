"""Half-built features: routes that exist but answer 5xx/501 to an ordinary bad request."""

from __future__ import annotations

import re
import uuid

import httpx

from harness.checks.evidence import EvidenceLog
from harness.keepalive import LIMITS

PATH_PARAMETER = re.compile(r"\{[^}]+\}")
PROBED_METHODS = ("get", "post", "put", "patch", "delete")
SKIPPED_PATHS = ("/metrics",)


def documented_routes(base_url: str) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in the service's OpenAPI document."""
    answer = httpx.get(f"{base_url}/openapi.json", timeout=5)
    answer.raise_for_status()
    return [
        (method.upper(), path)
        for path, operations in answer.json().get("paths", {}).items()
        for method in operations
        if method in PROBED_METHODS and path not in SKIPPED_PATHS
    ]


def route_defects(name: str, base_url: str, evidence: EvidenceLog) -> list[str]:
    """Call every route anonymously with an empty body and unknown ids: each must
    answer with a 2xx-4xx; a 5xx means a half-built or fragile route."""
    defects = []
    routes = documented_routes(base_url)
    evidence.number(f"{name} routes probed", len(routes))
    with httpx.Client(base_url=base_url, timeout=10, limits=LIMITS) as client:
        for method, path in routes:
            concrete = PATH_PARAMETER.sub(str(uuid.uuid4()), path)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            response = client.request(method, concrete, json=body)
            if response.status_code >= 500:
                evidence.http(f"{name} {method} {path}", response)
                defects.append(f"{name} {method} {path} answered {response.status_code}")
    return defects
