"""Whose code and configuration the local stack runs.

By default the stack runs this checkout: the services import the installed
`secureconnect`, Prometheus loads `compose/prometheus/rules/` and Alertmanager
`compose/alertmanager/alertmanager.yml`. The
self-test (`readiness selftest`) points a stack at a patched copy of the tree
instead, and can hand extra settings to named services: a `SourceTree`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Every service of the stack, in `env` keys: "chat" is every chat instance, "*" every service.
EVERY_SERVICE = "*"
INSTANCE = re.compile(r"^(?P<service>[a-z]+)-\d+$")


def alert_rules_dir(root: Path) -> Path:
    return root / "compose" / "prometheus" / "rules"


def alertmanager_config(root: Path) -> Path:
    return root / "compose" / "alertmanager" / "alertmanager.yml"


@dataclass(frozen=True)
class SourceTree:
    """A tree laid out like this repository (`system/`, `compose/`) for the stack to run."""

    root: Path
    #: Settings by service name: "auth", "chat" (every instance), "chat-2", or "*".
    service_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def system_dir(self) -> Path:
        return self.root / "system"

    @property
    def compose_dir(self) -> Path:
        return self.root / "compose"

    @property
    def alert_rules_dir(self) -> Path:
        return alert_rules_dir(self.root)

    @property
    def alertmanager_config(self) -> Path:
        return alertmanager_config(self.root)

    def python_path(self) -> str:
        """PYTHONPATH that makes a child import `secureconnect` from this tree: entries of
        PYTHONPATH come before site-packages and its .pth files (the editable install)."""
        inherited = os.environ.get("PYTHONPATH", "")
        return os.pathsep.join(p for p in (str(self.system_dir), inherited) if p)

    def environment(self, component: str) -> dict[str, str]:
        """What a service process gets on top of the stack's own settings."""
        match = INSTANCE.match(component)
        service = match.group("service") if match else component
        settings: dict[str, str] = {"PYTHONPATH": self.python_path()}
        for key in (EVERY_SERVICE, service, component):
            settings |= dict(self.service_env.get(key, {}))
        return settings
