"""What a run judged and what it did not: the scope block at the top of every report.

A verdict is only as wide as its scope. A run of one category, of the smoke
profile, or of a stack without some services can be a green GO about a part
of the system; the scope says which part, the badge says "GO — security only",
and the checks that were not judged are listed with the reason: left out by
the run's selection (category, profile), or selected but unknown (skipped,
errored, never reached, fault inert, stack unhealthy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.checks.model import CATEGORIES, PROFILES, CheckResult, Status
from harness.platform.base import SERVICE_NAMES
from harness.report.environment import machine_line
from harness.report.run import RunRecord

FULL_PROFILE = "full"
NOT_REACHED = "never reached: the run stopped before it, or its module could not be collected"


@dataclass(frozen=True)
class NotJudged:
    """A check the verdict does not rest on, and why."""

    result: CheckResult
    reason: str
    #: Left out only because this run's backend cannot judge it (the run selected it).
    by_backend: bool = False

    @property
    def check_id(self) -> str:
        return self.result.check.id


def _left_out(result: CheckResult, run: RunRecord) -> NotJudged:
    if run.categories and result.check.category not in run.categories:
        return NotJudged(result, f"category not selected (this run: {', '.join(run.categories)})")
    if run.profile != FULL_PROFILE and result.check.profile == FULL_PROFILE:
        return NotJudged(result, f"full profile only (this run: {run.profile})")
    if not result.check.judged_on(run.backend):
        backends = " or ".join(result.check.backends)
        reason = f"judged on the {backends} backend only (this run: {run.backend})"
        return NotJudged(result, reason, by_backend=True)
    return NotJudged(result, "not selected for this run")


def _unknown_reason(result: CheckResult) -> str:
    if result.status == Status.NOT_RUN:
        return f"not run: {result.message}" if result.message else NOT_REACHED
    return f"{result.status}: {result.message or 'no reason recorded'}"


def _services_missing(run: RunRecord) -> list[str]:
    """SecureConnect services with no running instance, when the run recorded its stack."""
    if run.components:
        running = {c.base for c in run.components}
    elif run.services is not None:
        running = set(run.services)
    else:
        return []
    return [name for name in SERVICE_NAMES if name not in running]


@dataclass
class Scope:
    backend: str
    profile: str
    #: The --category selection ([] = every category).
    selected_categories: list[str]
    categories_judged: list[str]
    categories_not_judged: list[str]
    components: list[str]
    services_missing: list[str]
    #: Selected, but unknown: the verdict cannot rest on them.
    unknown: list[NotJudged] = field(default_factory=list)
    #: Left out by the run's selection (category, profile).
    left_out: list[NotJudged] = field(default_factory=list)
    commit: str = "not recorded"
    machine: str = "not recorded"

    @property
    def partial(self) -> bool:
        return bool(self.qualifier)

    @property
    def qualifier(self) -> str:
        """What narrows the verdict, for its badge: "security only, smoke profile"."""
        parts = []
        if self.selected_categories:
            parts.append(f"{', '.join(self.selected_categories)} only")
        if self.profile in PROFILES and self.profile != FULL_PROFILE:
            parts.append(f"{self.profile} profile")
        if self.services_missing:
            parts.append(f"without {', '.join(self.services_missing)}")
        elsewhere = [n for n in self.left_out if n.by_backend]
        if elsewhere:
            parts.append(f"{len(elsewhere)} check(s) not judged on the {self.backend} backend")
        return ", ".join(parts)

    def badge(self, verdict: str) -> str:
        return f"{verdict} — {self.qualifier}" if self.qualifier else verdict

    @property
    def not_judged_lines(self) -> list[str]:
        """One line per reason a check was not judged, with how many and which."""
        lines = []
        if self.unknown:
            named = ", ".join(f"{n.check_id} ({n.result.status})" for n in self.unknown)
            lines.append(f"{len(self.unknown)} selected but unknown: {named}")
        lines += [f"{len(items)} left out: {why}" for why, items in self.left_out_by_reason.items()]
        return lines

    def to_json(self, verdict: str) -> dict[str, object]:
        return {
            "badge": self.badge(verdict),
            "partial": self.partial,
            "categories_judged": self.categories_judged,
            "categories_not_judged": self.categories_not_judged,
            "services_missing": self.services_missing,
            "not_judged": [
                {"check": n.check_id, "status": str(n.result.status), "reason": n.reason}
                for n in self.unknown + self.left_out
            ],
        }

    @property
    def left_out_by_reason(self) -> dict[str, list[NotJudged]]:
        grouped: dict[str, list[NotJudged]] = {}
        for item in self.left_out:
            grouped.setdefault(item.reason, []).append(item)
        return grouped


def scope_of(run: RunRecord) -> Scope:
    in_scope = [r for r in run.results if r.in_scope]
    judged = {r.check.category for r in in_scope}
    by_id = sorted(run.results, key=lambda r: r.check.id)
    return Scope(
        backend=run.backend,
        profile=run.profile,
        selected_categories=list(run.categories),
        categories_judged=[c for c in CATEGORIES if c in judged],
        categories_not_judged=[c for c in CATEGORIES if c not in judged],
        components=[c.name for c in run.components] or list(run.services or []),
        services_missing=_services_missing(run),
        unknown=[
            NotJudged(r, _unknown_reason(r)) for r in by_id if r.in_scope and r.status.is_unknown
        ],
        left_out=[_left_out(r, run) for r in by_id if not r.in_scope],
        commit=run.environment.get("commit", "not recorded"),
        machine=machine_line(run.environment),
    )


ScopeKey = tuple[str, str, tuple[str, ...], tuple[str, ...]]


def scope_key(run: RunRecord) -> ScopeKey:
    """Runs with equal keys judged the same thing and may be compared check by check."""
    if run.components:
        stack = tuple(sorted(c.name for c in run.components))
    else:
        stack = tuple(sorted(run.services)) if run.services is not None else ("all",)
    return run.backend, run.profile, tuple(sorted(run.categories)), stack
