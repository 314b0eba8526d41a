"""From check results to category scores, severity counts and a verdict.

The score of a category is the share of its checks that passed; a check that
failed, errored, was skipped or did not run is not a pass (unknown is never
good news). The verdict comes from a policy file (see `policy.yaml`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import yaml

from harness.checks.model import CATEGORIES, CheckResult, Severity, Status
from harness.errors import PolicyError

DEFAULT_POLICY = Path(__file__).with_name("policy.yaml")
FAILED = (Status.FAIL, Status.ERROR)


class Verdict(StrEnum):
    GO = "GO"
    CONDITIONAL = "CONDITIONAL GO"
    NO_GO = "NO-GO"


@dataclass(frozen=True)
class Policy:
    no_go_on: frozenset[Severity]
    conditional_on: frozenset[Severity]
    minimum_score: float
    unknown_counts_as_failed: bool
    gate_fails_on: frozenset[Verdict]

    @classmethod
    def load(cls, path: Path = DEFAULT_POLICY) -> Policy:
        try:
            raw = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise PolicyError(f"cannot read policy {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or "unparseable"
            raise PolicyError(f"policy {path} is not valid YAML{where}: {problem}") from exc
        if not isinstance(raw, dict):
            raise PolicyError(f"policy {path} must be a mapping")
        try:
            return cls(
                no_go_on=frozenset(Severity(s) for s in raw["no_go_on_failed"]),
                conditional_on=frozenset(Severity(s) for s in raw["conditional_on_failed"]),
                minimum_score=float(raw.get("minimum_score", 0.0)),
                unknown_counts_as_failed=bool(raw.get("unknown_counts_as_failed", True)),
                gate_fails_on=frozenset(Verdict(v) for v in raw["gate_fails_on"]),
            )
        except KeyError as exc:
            raise PolicyError(f"policy {path} lacks the key {exc.args[0]}") from exc
        except (ValueError, TypeError) as exc:
            raise PolicyError(f"policy {path} has a bad value: {exc}") from exc


@dataclass
class CategoryScore:
    category: str
    title: str
    counts: Counter[str] = field(default_factory=Counter)
    failed_by_severity: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def passed(self) -> int:
        return self.counts[Status.PASS]

    @property
    def score(self) -> float | None:
        return self.passed / self.total if self.total else None


@dataclass
class Scorecard:
    categories: list[CategoryScore]
    failed_by_severity: Counter[str]
    unknown_by_severity: Counter[str]
    passed: int
    total: int
    verdict: Verdict
    reasons: list[str]

    @property
    def score(self) -> float:
        return self.passed / self.total if self.total else 0.0


def score(all_results: list[CheckResult], policy: Policy) -> Scorecard:
    """Score the checks in scope; those left out by profile or category are not judged."""
    results = [r for r in all_results if r.in_scope]
    by_category = {key: CategoryScore(key, title) for key, title in CATEGORIES.items()}
    failed: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    for result in results:
        category = by_category[result.check.category]
        category.counts[result.status] += 1
        severity = str(result.check.severity)
        if result.status in FAILED:
            failed[severity] += 1
            category.failed_by_severity[severity] += 1
        elif result.status != Status.PASS:
            unknown[severity] += 1
    passed = sum(1 for r in results if r.status == Status.PASS)
    verdict, reasons = _verdict(failed, unknown, passed / len(results) if results else 0.0, policy)
    used = [c for c in by_category.values() if c.total]
    return Scorecard(used, failed, unknown, passed, len(results), verdict, reasons)


def _verdict(
    failed: Counter[str], unknown: Counter[str], overall: float, policy: Policy
) -> tuple[Verdict, list[str]]:
    counted = failed + unknown if policy.unknown_counts_as_failed else failed
    no_go = [
        f"{counted[s]} {s} check(s) failed or did not run"
        for s in sorted(policy.no_go_on)
        if counted[s]
    ]
    if overall < policy.minimum_score:
        no_go.append(f"score {overall:.0%} is below the minimum {policy.minimum_score:.0%}")
    if no_go:
        return Verdict.NO_GO, no_go
    conditional = [
        f"{counted[s]} {s} check(s) failed or did not run"
        for s in sorted(policy.conditional_on)
        if counted[s]
    ]
    if conditional:
        return Verdict.CONDITIONAL, conditional
    return Verdict.GO, ["every BLOCKER and HIGH check passed"]
