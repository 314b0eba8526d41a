"""The readiness harness. Scenarios import what they need from here, not from submodules.

from harness import EvidenceLog, FaultInjector, Platform, check, eventually
"""

from collections.abc import Callable

from harness.checks.evidence import EvidenceLog
from harness.checks.model import Check, CheckResult, Severity, Status
from harness.checks.registry import check
from harness.errors import (
    CheckError,
    ComponentError,
    ConfigError,
    FaultError,
    HarnessError,
    PolicyError,
    StartupError,
)
from harness.faults.injector import FaultInjector
from harness.platform.base import ComponentInfo, Platform, StackInfo
from harness.waiting import eventually

#: A fixture that maps a component name to (host, port).
AddressOf = Callable[[str], tuple[str, int]]

__all__ = [
    "AddressOf",
    "Check",
    "CheckError",
    "CheckResult",
    "ComponentError",
    "ComponentInfo",
    "ConfigError",
    "EvidenceLog",
    "FaultError",
    "FaultInjector",
    "HarnessError",
    "Platform",
    "PolicyError",
    "Severity",
    "StackInfo",
    "StartupError",
    "Status",
    "check",
    "eventually",
]
