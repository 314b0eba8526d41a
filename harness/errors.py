"""The harness's exception tree.

    HarnessError                  anything the harness reports as one line
    ├── ConfigError               bad input: a file, a flag, a setting
    │   └── PatchError            a seeded defect's patch does not apply to the tree
    ├── StartupError              a component did not become healthy
    ├── ComponentError            an operation on a running component failed
    ├── FaultError                a fault could not be injected or removed
    ├── CheckError                a check could not be evaluated
    ├── PolicyError               a verdict policy file is unusable
    ├── ReportError               a report could not be printed (no Chromium, a failed print)
    └── Inconclusive              a check ran but its result cannot be trusted (unknown)
        ├── InertFault            the fault never touched the traffic it was meant to
        ├── UnhealthyStack        the steady state could not be restored before a check
        └── NotGranted            a stack the harness did not start grants no such control

Every CLI error is one of these and prints as a single line; anything else
is a bug in the harness.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base class: a failure the harness explains in one line."""


class ConfigError(HarnessError):
    """Bad input from the user: a flag, a file or a setting."""


class PatchError(ConfigError):
    """A self-test defect's patch does not apply to the current tree (it rotted)."""


class StartupError(HarnessError):
    """A component failed to start or to become healthy in time."""

    def __init__(self, component: str, reason: str, log_tail: str = "") -> None:
        self.component = component
        self.reason = reason
        self.log_tail = log_tail
        super().__init__(f"{component} failed to start: {reason}")


class ComponentError(HarnessError):
    """An operation (stop, kill, pause...) on a component failed."""


class FaultError(HarnessError):
    """A fault could not be injected or removed."""


class CheckError(HarnessError):
    """A check could not be evaluated."""


class PolicyError(HarnessError):
    """A verdict policy file is missing or malformed."""


class ReportError(HarnessError):
    """A report could not be printed: Chromium is missing or its print failed."""


class Inconclusive(HarnessError):
    """A check ran but proves nothing either way: its status is *unknown*, never pass."""


class InertFault(Inconclusive):
    """The fault was in place but no traffic it targets went through it."""


class UnhealthyStack(Inconclusive):
    """Before a check, the stack could not be brought back to its steady state."""


class NotGranted(Inconclusive):
    """The check needs a control (a fault proxy, a process, a secret, a log) that the
    stack file of an attached deployment does not grant: *not run*, never judged."""
