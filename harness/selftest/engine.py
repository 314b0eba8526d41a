"""`readiness selftest`: each seeded defect, on a fresh copy, caught by its checks.

1. The checks the selected defects name are run once on an unpatched copy:
   each must pass there, or the defect it should catch counts as missed
   ("check not passing on the healthy system").
2. For each defect: a fresh copy of the tree, its patch applied, a new local
   stack running the copy's code and alert rules with the defect's settings
   (and its stand-in in place of a stock data store or TURN server),
   and only its checks, run by the same machinery as `readiness run`, judged
   at the policy's severities. Caught when every check ends as expected.
Config-only checks (no `stack` fixture) run without starting a stack.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from harness.checks.model import CheckResult, Status
from harness.checks.scoring import Policy
from harness.errors import ConfigError, PatchError, StartupError
from harness.platform.components.base import LocalComponent
from harness.platform.local import LocalPlatform, default_components
from harness.platform.source import SourceTree
from harness.run.runner import COMPONENT_LOGS, run_checks
from harness.selftest.catalogue import Defect
from harness.selftest.inventory import CheckEntry, collect_checks
from harness.selftest.outcome import DefectOutcome, SelftestOutcome, judge
from harness.selftest.standins import STAND_INS
from harness.selftest.tree import apply_patch, copy_tree

#: The profile the checks run with: a check named by id runs whatever its own profile,
#: and a profile-sized check (load) runs its quick variant.
PROFILE = "smoke"
NOT_HEALTHY = "check not passing on the healthy system"


class Progress:
    """What the engine reports as it goes; the CLI draws it (harness.selftest.view)."""

    def phase(self, text: str) -> None: ...

    def component(self, name: str, state: str) -> None: ...

    def check(self, label: str, check_id: str, outcome: str) -> None: ...

    def defect_done(self, outcome: DefectOutcome) -> None: ...


@dataclass
class Selftest:
    defects: list[Defect]
    run_dir: Path
    policy: Policy
    progress: Progress = field(default_factory=Progress)
    inventory: dict[str, CheckEntry] = field(default_factory=dict)

    def run(self) -> SelftestOutcome:
        started = time.monotonic()
        self.progress.phase("collecting the checks")
        self.inventory = self.inventory or collect_checks()
        self._validate()
        union = sorted({c for d in self.defects for c in d.checks})
        healthy = self._healthy(union)
        outcomes = []
        for index, defect in enumerate(self.defects, 1):
            self.progress.phase(f"{defect.id} ({index}/{len(self.defects)})")
            outcome = self._one(defect, healthy)
            outcomes.append(outcome)
            self.progress.defect_done(outcome)
        return SelftestOutcome(outcomes, healthy, time.monotonic() - started, self.run_dir)

    def _validate(self) -> None:
        for defect in self.defects:
            for index, expectation in enumerate(defect.caught_by):
                if expectation.check not in self.inventory:
                    raise ConfigError(
                        f"{defect.source}: caught_by[{index}].check: "
                        f"no check {expectation.check} in the scenario suites"
                    )

    def _healthy(self, check_ids: list[str]) -> dict[str, str]:
        """Each check's status on an unpatched copy."""
        self.progress.phase(f"healthy system: {len(check_ids)} checks")
        with tempfile.TemporaryDirectory(prefix="selftest-healthy-") as scratch:
            tree = SourceTree(copy_tree(Path(scratch) / "tree"))
            results = self._run(tree, check_ids, self.run_dir / "healthy", "healthy")
        return {c: str(results[c].status) if c in results else "not run" for c in check_ids}

    def _one(self, defect: Defect, healthy: dict[str, str]) -> DefectOutcome:
        started = time.monotonic()
        unhealthy = [c for c in defect.checks if healthy.get(c) != str(Status.PASS)]
        if unhealthy:
            reason = f"{NOT_HEALTHY}: {', '.join(f'{c} {healthy.get(c)}' for c in unhealthy)}"
            return self._missed(defect, reason, started)
        with tempfile.TemporaryDirectory(prefix=f"selftest-{defect.id}-") as scratch:
            tree = SourceTree(copy_tree(Path(scratch) / "tree"), defect.env)
            try:
                if defect.patch is not None:
                    apply_patch(tree.root, defect.patch)
                stand_ins = [STAND_INS[defect.component].build()] if defect.component else []
                results = self._run(
                    tree, defect.checks, self.run_dir / defect.id, defect.id, stand_ins
                )
            except (PatchError, StartupError) as exc:
                return self._missed(defect, str(exc).splitlines()[0], started)
        verdicts = [judge(e, results.get(e.check), self.policy) for e in defect.caught_by]
        return DefectOutcome(defect, verdicts, duration_s=time.monotonic() - started)

    def _missed(self, defect: Defect, reason: str, started: float) -> DefectOutcome:
        verdicts = [judge(e, None, self.policy) for e in defect.caught_by]
        return DefectOutcome(defect, verdicts, reason, time.monotonic() - started)

    def _run(
        self,
        tree: SourceTree,
        check_ids: Collection[str],
        run_dir: Path,
        label: str,
        stand_ins: Collection[LocalComponent] = (),
    ) -> dict[str, CheckResult]:
        """Run the checks against a stack of `tree` (none when no check needs one),
        with `stand_ins` in place of the stock components they subclass."""
        run_dir.mkdir(parents=True, exist_ok=True)
        args = [
            f"--readiness-compose-dir={tree.compose_dir}",
            f"--readiness-results={run_dir / 'results.json'}",  # the checks' evidence
        ]
        args += [f"--readiness-check={c}" for c in check_ids]
        by_node = {self.inventory[c].nodeid: c for c in check_ids}

        def on_check(nodeid: str, outcome: str) -> None:
            self.progress.check(label, by_node.get(nodeid, nodeid), outcome)

        if not any(self.inventory[c].needs_stack for c in check_ids):
            return run_checks(None, run_dir, PROFILE, args, on_check)
        components = default_components(source=tree, stand_ins=stand_ins)
        platform = LocalPlatform(components=components, progress=self.progress.component)
        try:
            self.progress.phase(f"{label}: starting a stack from the copy")
            platform.up()
            self.progress.phase(f"{label}: running {', '.join(check_ids)}")
            return run_checks(platform, run_dir, PROFILE, args, on_check)
        finally:
            platform.save_logs(run_dir / COMPONENT_LOGS)
            platform.down()
