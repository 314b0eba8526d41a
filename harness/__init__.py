"""The readiness harness. Scenarios import what they need from here and from `harness.checks`,
never from submodules (scenarios/ruff.toml bans them; harness/tests/test_public_surface.py
keeps `__all__` equal to what the namespace offers).

from harness import EvidenceLog, FaultInjector, Platform, check, eventually
"""

from collections.abc import Callable as _Callable

from harness.checks.evidence import EvidenceLog
from harness.checks.model import Check, CheckResult, Severity, Status
from harness.checks.registry import check, one_check_each, require_components
from harness.clients.api import STRONG_PASSWORD, ApiClient, Session, verification_token
from harness.clients.media import SfuClient
from harness.clients.realtime import Chat, EventListener, Files
from harness.errors import (
    CheckError,
    ComponentError,
    ConfigError,
    FaultError,
    HarnessError,
    Inconclusive,
    InertFault,
    PolicyError,
    StartupError,
)
from harness.faults.injector import FaultInjector, FaultWindow
from harness.metrics import period as policy_period
from harness.metrics import sample as metric_sample
from harness.metrics import watch as metric_watch
from harness.platform.base import ComponentInfo, Platform, StackInfo, services_of
from harness.platform.components.services import (
    BACKEND_BUDGET_S,
    CORS_ALLOWED_ORIGIN,
    GATEWAY_BUDGET_S,
)
from harness.platform.probes import turn_allocate
from harness.platform.runtime import SECRET_NAMES
from harness.redaction import RUN_SECRETS
from harness.toxiproxy.client import FLAKY_REROLL_S
from harness.waiting import eventually

#: A fixture that maps a component name to (host, port).
AddressOf = _Callable[[str], tuple[str, int]]

__all__ = [
    "AddressOf",
    "ApiClient",
    "BACKEND_BUDGET_S",
    "CORS_ALLOWED_ORIGIN",
    "Chat",
    "Check",
    "CheckError",
    "CheckResult",
    "ComponentError",
    "ComponentInfo",
    "ConfigError",
    "EventListener",
    "EvidenceLog",
    "FLAKY_REROLL_S",
    "FaultError",
    "FaultInjector",
    "FaultWindow",
    "Files",
    "GATEWAY_BUDGET_S",
    "HarnessError",
    "Inconclusive",
    "InertFault",
    "Platform",
    "PolicyError",
    "RUN_SECRETS",
    "SECRET_NAMES",
    "STRONG_PASSWORD",
    "Session",
    "Severity",
    "SfuClient",
    "StackInfo",
    "StartupError",
    "Status",
    "check",
    "eventually",
    "metric_sample",
    "metric_watch",
    "one_check_each",
    "policy_period",
    "require_components",
    "services_of",
    "turn_allocate",
    "verification_token",
]
