"""From check results to category scores, severity counts and a verdict.

The score of a category is the share of its checks that passed. A check either
passed, failed, or is *unknown* (errored, skipped, not run, its fault proven
inert, or the stack not healthy before it): unknown is never good news, and it
is never a failure of the product either. The verdict comes from a policy file
(see `policy.yaml`):

    NO-GO          a check of a `no_go_on_failed` severity failed
    INCONCLUSIVE   none did, but one of an `inconclusive_on_unknown` severity is unknown
    CONDITIONAL GO a check of a `conditional_on_failed` severity failed, or one of a
                   `conditional_on_unknown` severity is unknown
    GO             otherwise
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import yaml

from harness.checks.model import CATEGORIES, CheckResult, Severity, Status
from harness.errors import PolicyError

DEFAULT_POLICY = Path(__file__).with_name("policy.yaml")


class Verdict(StrEnum):
    GO = "GO"
    CONDITIONAL = "CONDITIONAL GO"
    INCONCLUSIVE = "INCONCLUSIVE"
    NO_GO = "NO-GO"


def _severities(
    raw: Mapping[str, object], key: str, default: list[str] | None = None
) -> frozenset[Severity]:
    values = raw[key] if default is None else raw.get(key, default)
    if not isinstance(values, list):
        raise PolicyError(f"policy key {key} must be a list of severities")
    return frozenset(Severity(s) for s in values)


@dataclass(frozen=True)
class Policy:
    no_go_on: frozenset[Severity]
    conditional_on: frozenset[Severity]
    minimum_score: float
    #: Strict mode: an unknown check counts as a failed one.
    unknown_counts_as_failed: bool
    gate_fails_on: frozenset[Verdict]
    inconclusive_on_unknown: frozenset[Severity] = frozenset({Severity.BLOCKER})
    conditional_on_unknown: frozenset[Severity] = frozenset({Severity.HIGH})
    #: Check id patterns (fnmatch) → the least severity such a check is judged at.
    minimum_severity: tuple[tuple[str, Severity], ...] = ()

    def severity_of(self, check_id: str, declared: Severity) -> Severity:
        """The declared severity, raised to the policy's floor for this check id."""
        order = list(Severity)  # BLOCKER first
        floors = [s for pattern, s in self.minimum_severity if fnmatch.fnmatch(check_id, pattern)]
        return min([declared, *floors], key=order.index)

    def apply(self, results: list[CheckResult]) -> list[CheckResult]:
        """Results with every check at the severity this policy judges it at."""
        out = []
        for result in results:
            severity = self.severity_of(result.check.id, result.check.severity)
            if severity != result.check.severity:
                result = replace(result, check=replace(result.check, severity=severity))
            out.append(result)
        return out

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
            floors = raw.get("minimum_severity") or {}
            if not isinstance(floors, dict):
                raise PolicyError(
                    f"policy {path}: minimum_severity must map check ids to a severity"
                )
            return cls(
                no_go_on=_severities(raw, "no_go_on_failed"),
                conditional_on=_severities(raw, "conditional_on_failed"),
                minimum_score=float(raw.get("minimum_score", 0.0)),
                unknown_counts_as_failed=bool(raw.get("unknown_counts_as_failed", False)),
                gate_fails_on=frozenset(Verdict(v) for v in raw["gate_fails_on"]),
                inconclusive_on_unknown=_severities(raw, "inconclusive_on_unknown", ["BLOCKER"]),
                conditional_on_unknown=_severities(raw, "conditional_on_unknown", ["HIGH"]),
                minimum_severity=tuple((str(k), Severity(v)) for k, v in floors.items()),
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
    unknown_by_severity: Counter[str] = field(default_factory=Counter)

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
    results = [r for r in policy.apply(all_results) if r.in_scope]
    by_category = {key: CategoryScore(key, title) for key, title in CATEGORIES.items()}
    failed: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    for result in results:
        category = by_category[result.check.category]
        category.counts[result.status] += 1
        severity = str(result.check.severity)
        if result.status == Status.FAIL:
            failed[severity] += 1
            category.failed_by_severity[severity] += 1
        elif result.status.is_unknown:
            unknown[severity] += 1
            category.unknown_by_severity[severity] += 1
    passed = sum(1 for r in results if r.status == Status.PASS)
    verdict, reasons = _verdict(failed, unknown, passed / len(results) if results else 0.0, policy)
    used = [c for c in by_category.values() if c.total]
    return Scorecard(used, failed, unknown, passed, len(results), verdict, reasons)


def _named(counts: Counter[str], severities: frozenset[Severity], what: str) -> list[str]:
    return [f"{counts[s]} {s} check(s) {what}" for s in sorted(severities) if counts[s]]


def _verdict(
    failed: Counter[str], unknown: Counter[str], overall: float, policy: Policy
) -> tuple[Verdict, list[str]]:
    if policy.unknown_counts_as_failed:
        failed, unknown = failed + unknown, Counter()
    no_go = _named(failed, policy.no_go_on, "failed")
    if overall < policy.minimum_score:
        no_go.append(f"score {overall:.0%} is below the minimum {policy.minimum_score:.0%}")
    if no_go:
        return Verdict.NO_GO, no_go
    inconclusive = _named(unknown, policy.inconclusive_on_unknown, "unknown (not judged)")
    if inconclusive:
        return Verdict.INCONCLUSIVE, inconclusive
    conditional = _named(failed, policy.conditional_on, "failed") + _named(
        unknown, policy.conditional_on_unknown, "unknown (not judged)"
    )
    if conditional:
        return Verdict.CONDITIONAL, conditional
    return Verdict.GO, ["every BLOCKER and HIGH check passed"]
