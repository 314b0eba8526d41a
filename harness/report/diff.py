"""What changed since an earlier run: the verdict, new failures and unknowns, fixes.

Only checks both runs judged are compared as before and after; a check the
earlier run did not judge (new, or outside its scope) is listed as new, and
also as a new failure or unknown when it is one now: whatever moved the
verdict is named. The baseline `readiness run` picks is the newest earlier run
of the same scope (archive.py); one picked by hand may differ, and the diff
says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.checks.model import Status
from harness.checks.scoring import Policy
from harness.report.run import RunRecord
from harness.report.scope import scope_key, scope_of


@dataclass
class RunDiff:
    previous_run: str
    new_failures: list[str] = field(default_factory=list)
    #: Checks that are unknown now and were not before (judged, or not in its scope).
    new_unknowns: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    #: Judged now, not judged by the earlier run (a new check, or outside its scope).
    new_checks: list[str] = field(default_factory=list)
    removed_checks: list[str] = field(default_factory=list)
    score_before: float = 0.0
    score_after: float = 0.0
    verdict_before: str = ""
    verdict_after: str = ""
    #: Both runs judged the same backend, profile, categories and stack.
    same_scope: bool = True
    scope_before: str = ""
    scope_after: str = ""

    @property
    def score_change(self) -> float:
        return self.score_after - self.score_before

    @property
    def verdict_changed(self) -> bool:
        return self.verdict_before != self.verdict_after


def _compare(then: Status | None, now: Status, diff: RunDiff, check_id: str) -> None:
    if then is None:
        diff.new_checks.append(check_id)
    if now == Status.FAIL and then != Status.FAIL:
        diff.new_failures.append(check_id)
    elif now.is_unknown and (then is None or not then.is_unknown):
        diff.new_unknowns.append(check_id)
    elif now == Status.PASS and then is not None and then != Status.PASS:
        diff.fixed.append(check_id)


def diff_runs(previous: RunRecord, current: RunRecord, policy: Policy) -> RunDiff:
    before = {r.check.id: r.status for r in previous.results if r.in_scope}
    after = {r.check.id: r.status for r in current.results if r.in_scope}
    result = RunDiff(previous.run_id)
    for check_id, now in sorted(after.items()):
        _compare(before.get(check_id), now, result, check_id)
    result.removed_checks = sorted(set(before) - set(after))
    old_card, new_card = previous.scorecard(policy), current.scorecard(policy)
    result.score_before, result.score_after = old_card.score, new_card.score
    result.verdict_before, result.verdict_after = str(old_card.verdict), str(new_card.verdict)
    result.same_scope = scope_key(previous) == scope_key(current)
    result.scope_before = scope_of(previous).qualifier or "everything"
    result.scope_after = scope_of(current).qualifier or "everything"
    return result
