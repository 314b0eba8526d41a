"""How long a check took: its own setup, call and teardown, and the experiment it shares.

pytest times each phase of a test, but a fixture broader than a function is
timed inside the setup of whichever test asked for it first: a module's 30 s
Redis outage (set up once for DEG-001..003) inside DEG-001's setup, the
session's stack inside the very first check's. So the plugin times every such
fixture as it is set up, takes that time out of the phase that happened to run
it, and shows a module's (or class's, package's) experiment as
"shared <fixture>" with every check that uses it. The session's stack belongs
to no check and is shown with none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

#: Fixture scopes whose setup is an experiment shared by the checks under one node.
SHARED_SCOPES = ("package", "module", "class")
PHASES = ("setup", "call", "teardown")
SHARED_PREFIX = "shared "


@dataclass
class FixtureClock:
    """Setup times of fixtures broader than a function, in one pytest session."""

    #: Seconds spent setting up broad fixtures since the last phase was charged.
    pending_s: float = 0.0
    #: (fixture name, node id of its scope) → seconds its setup took.
    shared_s: dict[tuple[str, str], float] = field(default_factory=dict)

    def fixture_set_up(self, name: str, scope: str, node_id: str, seconds: float) -> None:
        if scope == "function":
            return
        self.pending_s += seconds
        if scope in SHARED_SCOPES:
            self.shared_s[(name, node_id)] = seconds

    def own_time(self, phase_s: float) -> float:
        """A phase's duration less the broad fixtures set up during it."""
        taken, self.pending_s = self.pending_s, 0.0
        return max(phase_s - taken, 0.0)

    def shared_with(self, item: pytest.Item) -> dict[str, float]:
        """The shared experiments `item` uses, by "shared <fixture>"."""
        scopes = [node.nodeid for node in item.listchain()]
        shared = {}
        for name in getattr(item, "fixturenames", ()):
            for node_id in scopes:
                seconds = self.shared_s.get((name, node_id))
                if seconds is not None:
                    shared[f"{SHARED_PREFIX}{name}"] = round(seconds, 3)
        return shared


def total_s(phases: dict[str, float]) -> float:
    return round(sum(phases.values()), 3)
