"""One readiness run as data: what `results.json` holds (schema in SCHEMA.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.checks.model import CheckResult
from harness.checks.scoring import Policy, Scorecard, score
from harness.errors import ConfigError
from harness.report.compose_inventory import ComposeInventory
from harness.report.inventory import ComponentRecord

SCHEMA_VERSION = 1


@dataclass
class RunRecord:
    run_id: str
    started_at: str
    finished_at: str
    backend: str
    profile: str
    categories: list[str]
    results: list[CheckResult]
    #: The commit and the machine (environment.py).
    environment: dict[str, str] = field(default_factory=dict)
    #: The services asked for (--service); None: every one the backend has.
    services: list[str] | None = None
    #: The stack as the platform saw it at the end of the run (inventory.py).
    components: list[ComponentRecord] = field(default_factory=list)
    #: The compose files as they were when the run was judged (compose_inventory.py).
    compose: ComposeInventory = field(default_factory=ComposeInventory)

    def scorecard(self, policy: Policy) -> Scorecard:
        return score(self.results, policy)

    def to_json(self, scorecard: Scorecard, scope: dict[str, Any] | None = None) -> dict[str, Any]:
        """`scope`: what the verdict covers (scope.py), for readers of the file alone."""
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "backend": self.backend,
            "profile": self.profile,
            "categories": self.categories,
            "environment": self.environment,
            "services": self.services,
            "components": [c.to_json() for c in self.components],
            "compose": self.compose.to_json(),
            "verdict": str(scorecard.verdict),
            "scope": scope or {},
            "verdict_reasons": scorecard.reasons,
            "score": round(scorecard.score, 4),
            "passed": scorecard.passed,
            "total": scorecard.total,
            "failed_by_severity": dict(scorecard.failed_by_severity),
            "unknown_by_severity": dict(scorecard.unknown_by_severity),
            "category_scores": [
                {
                    "category": c.category,
                    "title": c.title,
                    "passed": c.passed,
                    "total": c.total,
                    "score": c.score,
                    "counts": {str(k): v for k, v in c.counts.items()},
                    "failed_by_severity": dict(c.failed_by_severity),
                    "unknown_by_severity": dict(c.unknown_by_severity),
                }
                for c in scorecard.categories
            ],
            "results": [r.to_json() for r in self.results],
        }

    def write(self, path: Path, scorecard: Scorecard, scope: dict[str, Any] | None = None) -> None:
        path.write_text(json.dumps(self.to_json(scorecard, scope), indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> RunRecord:
        try:
            raw = json.loads(path.read_text())
            if raw.get("schema_version") != SCHEMA_VERSION:
                raise ValueError(f"schema_version {raw.get('schema_version')!r}")
            return cls(
                run_id=raw["run_id"],
                started_at=raw["started_at"],
                finished_at=raw["finished_at"],
                backend=raw["backend"],
                profile=raw["profile"],
                categories=list(raw["categories"]),
                results=[CheckResult.from_json(r) for r in raw["results"]],
                environment=dict(raw.get("environment", {})),
                services=raw.get("services"),
                components=[ComponentRecord.from_json(c) for c in raw.get("components", [])],
                compose=ComposeInventory.from_json(raw.get("compose")),
            )
        except FileNotFoundError as exc:
            raise ConfigError(f"no results at {path}") from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"results {path} are corrupt: {exc}") from exc
