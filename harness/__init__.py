"""The readiness harness. Scenarios import what they need from here, not from submodules.

from harness import EvidenceLog, FaultInjector, Platform, check, eventually
"""

from collections.abc import Callable

from harness.checks.evidence import EvidenceLog
from harness.checks.model import Check, CheckResult, Severity, Status
from harness.checks.registry import check, require_components
from harness.clients.api import ApiClient, Session, verification_token
from harness.errors import (
    CheckError,
    ComponentError,
    ConfigError,
    FaultError,
    HarnessError,
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
from harness.waiting import eventually

#: A fixture that maps a component name to (host, port).
AddressOf = Callable[[str], tuple[str, int]]

__all__ = [
    "BACKEND_BUDGET_S",
    "CORS_ALLOWED_ORIGIN",
    "GATEWAY_BUDGET_S",
    "AddressOf",
    "ApiClient",
    "Check",
    "CheckError",
    "CheckResult",
    "ComponentError",
    "ComponentInfo",
    "ConfigError",
    "EvidenceLog",
    "FaultError",
    "FaultInjector",
    "FaultWindow",
    "HarnessError",
    "InertFault",
    "Platform",
    "PolicyError",
    "Session",
    "Severity",
    "StackInfo",
    "StartupError",
    "Status",
    "check",
    "eventually",
    "metric_sample",
    "policy_period",
    "metric_watch",
    "require_components",
    "services_of",
    "verification_token",
]
