"""Trends over the runs kept in `reports/`: score and verdict per run, checks that flipped.

A check flipped when its outcome (pass, fail, unknown) differs from the last
run that judged it. One that went from pass to fail and back again within the
window is **flaky**: its verdict says as much about luck as about the system,
and it is named as such rather than hidden in the score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.checks.model import Status
from harness.checks.scoring import Policy
from harness.report.run import RunRecord
from harness.report.scope import scope_of

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"


@dataclass(frozen=True)
class RunPoint:
    run_id: str
    started_at: str
    score: float
    verdict: str
    scope: str
    current: bool = False


@dataclass
class Flip:
    check_id: str
    title: str
    severity: str
    #: Outcome per run of the window, oldest first; None where the run did not judge it.
    outcomes: list[str | None] = field(default_factory=list)

    @property
    def changes(self) -> list[tuple[str, str]]:
        judged = [o for o in self.outcomes if o is not None]
        return [(a, b) for a, b in zip(judged, judged[1:], strict=False) if a != b]

    @property
    def flaky(self) -> bool:
        changes = self.changes
        return (PASS, FAIL) in changes and (FAIL, PASS) in changes

    @property
    def label(self) -> str:
        if self.flaky:
            return "flaky"
        last = self.changes[-1][1]
        return {PASS: "fixed", FAIL: "regressed"}.get(last, "became unknown")


@dataclass
class Trends:
    points: list[RunPoint]
    flips: list[Flip]

    @property
    def flaky(self) -> list[Flip]:
        return [f for f in self.flips if f.flaky]


def _outcome(status: Status) -> str:
    return UNKNOWN if status.is_unknown else str(status)


def _flips(runs: list[RunRecord]) -> list[Flip]:
    flips: dict[str, Flip] = {}
    for index, run in enumerate(runs):
        for result in run.results:
            if not result.in_scope:
                continue
            check = result.check
            flip = flips.setdefault(
                check.id, Flip(check.id, check.title, str(check.severity), [None] * len(runs))
            )
            flip.outcomes[index] = _outcome(result.status)
    changed = [f for f in flips.values() if f.changes]
    return sorted(changed, key=lambda f: (not f.flaky, f.check_id))


def trends_of(runs: list[RunRecord], current: RunRecord, policy: Policy) -> Trends:
    """The trends of the `runs` (oldest first) up to and ending with `current`."""
    order = (current.started_at, current.run_id)
    window = [r for r in runs if (r.started_at, r.run_id) < order] + [current]
    points = []
    for run in window:
        card = run.scorecard(policy)
        points.append(
            RunPoint(
                run.run_id,
                run.started_at,
                card.score,
                str(card.verdict),
                scope_of(run).qualifier or "everything",
                run.run_id == current.run_id,
            )
        )
    return Trends(points, _flips(window))
