"""What changed since the previous run: new failures, fixes, score movement."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.checks.model import Status
from harness.checks.scoring import Policy
from harness.report.run import RunRecord


@dataclass
class RunDiff:
    previous_run: str
    new_failures: list[str] = field(default_factory=list)
    #: Checks judged before (pass or fail) that are unknown now.
    new_unknowns: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    new_checks: list[str] = field(default_factory=list)
    removed_checks: list[str] = field(default_factory=list)
    score_before: float = 0.0
    score_after: float = 0.0
    verdict_before: str = ""
    verdict_after: str = ""

    @property
    def score_change(self) -> float:
        return self.score_after - self.score_before


def diff_runs(previous: RunRecord, current: RunRecord, policy: Policy) -> RunDiff:
    before = {r.check.id: r for r in previous.results if r.in_scope}
    after = {r.check.id: r for r in current.results if r.in_scope}
    result = RunDiff(previous.run_id)
    for check_id, now in sorted(after.items()):
        then = before.get(check_id)
        if then is None:
            result.new_checks.append(check_id)
        elif now.status == Status.FAIL and then.status != Status.FAIL:
            result.new_failures.append(check_id)
        elif now.status.is_unknown and not then.status.is_unknown:
            result.new_unknowns.append(check_id)
        elif then.status != Status.PASS and now.status == Status.PASS:
            result.fixed.append(check_id)
    result.removed_checks = sorted(set(before) - set(after))
    old_card, new_card = previous.scorecard(policy), current.scorecard(policy)
    result.score_before, result.score_after = old_card.score, new_card.score
    result.verdict_before, result.verdict_after = str(old_card.verdict), str(new_card.verdict)
    return result
