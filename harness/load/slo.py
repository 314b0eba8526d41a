"""Service-level objectives of the load journeys: the schema of loadtests/slo.yaml.

    reference_users: 100          # min_rps figures are for this many users
    journeys:
      chat:                       # every Locust row named "chat: ..."
        p95_ms: 300               # each step's 95th percentile
        p99_ms: 800
        max_error_ratio: 0.01     # failures / requests over the journey
        min_rps: 10               # the journey's requests per second
        steps:                    # a step with thresholds of its own
          "chat: search": {p95_ms: 500}
    chaos:
      redis-down:                 # judged inside the fault window
        journeys: {auth: {max_error_ratio: 0.01}}
        degraded: [files]         # whole-run SLOs waived for these journeys

Percentiles apply to each step (Locust row) of a journey, because Locust's
CSV holds percentiles per row, not the histograms that would let rows be
merged exactly; the worst step is reported. A file that does not match the
schema is a ConfigError naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import ConfigError

DEFAULT_SLO_FILE = Path(__file__).resolve().parents[2] / "loadtests" / "slo.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepSlo(_Strict):
    """Latency thresholds of one step, milliseconds."""

    p95_ms: float | None = Field(default=None, gt=0)
    p99_ms: float | None = Field(default=None, gt=0)


class JourneySlo(StepSlo):
    max_error_ratio: float = Field(default=0.01, ge=0, le=1)
    min_rps: float = Field(default=0.0, ge=0)
    steps: dict[str, StepSlo] = {}

    @model_validator(mode="after")
    def _p99_not_below_p95(self) -> Self:
        checked: list[tuple[str, StepSlo]] = [("journey", self), *self.steps.items()]
        for label, slo in checked:
            if slo.p95_ms is not None and slo.p99_ms is not None and slo.p99_ms < slo.p95_ms:
                raise ValueError(f"{label}: p99_ms ({slo.p99_ms}) is below p95_ms ({slo.p95_ms})")
        return self

    def step(self, name: str) -> StepSlo:
        """The thresholds of step `name`: its own where given, else the journey's."""
        own = self.steps.get(name)
        return StepSlo(
            p95_ms=own.p95_ms if own and own.p95_ms is not None else self.p95_ms,
            p99_ms=own.p99_ms if own and own.p99_ms is not None else self.p99_ms,
        )


class WindowSlo(_Strict):
    """What must hold for a journey while the fault is on."""

    max_error_ratio: float | None = Field(default=None, ge=0, le=1)
    #: Rolling 95th percentile of every step, failures included: "fails fast".
    max_p95_ms: float | None = Field(default=None, gt=0)
    #: At least this many requests in the window (a journey that stopped is no pass).
    min_requests: int = Field(default=1, ge=0)
    #: At least this error ratio: the fault must show where it is expected to.
    min_error_ratio: float | None = Field(default=None, ge=0, le=1)


class ChaosSlo(_Strict):
    journeys: dict[str, WindowSlo] = {}
    degraded: list[str] = []


class SloFile(_Strict):
    reference_users: int = Field(default=100, gt=0)
    journeys: dict[str, JourneySlo] = Field(min_length=1)
    chaos: dict[str, ChaosSlo] = {}

    @model_validator(mode="after")
    def _known_journeys(self) -> Self:
        for scenario, chaos in self.chaos.items():
            named = [*chaos.journeys, *chaos.degraded]
            unknown = [j for j in named if j not in self.journeys]
            if unknown:
                known = ", ".join(self.journeys)
                raise ValueError(f"chaos.{scenario} names unknown journey {unknown[0]!r} ({known})")
        for journey, slo in self.journeys.items():
            stray = [s for s in slo.steps if not s.startswith(f"{journey}: ")]
            if stray:
                raise ValueError(f"journeys.{journey}.steps: {stray[0]!r} is not '{journey}: ...'")
        return self

    def min_rps(self, journey: str, users: int) -> float:
        """The journey's throughput floor scaled to `users` (figures are per reference_users)."""
        return self.journeys[journey].min_rps * users / self.reference_users


def load_slo(path: Path) -> SloFile:
    """Read and validate an SLO file; any problem is one ConfigError line naming it."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"SLO file {path} does not exist") from exc
    except (OSError, yaml.YAMLError) as exc:
        reason = str(exc).replace("\n", " ")
        raise ConfigError(f"SLO file {path} is not readable YAML: {reason}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"SLO file {path} must be a mapping with 'journeys', got {raw!r:.60}")
    try:
        return SloFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"SLO file {path}: {where}: {first['msg']}{more}") from exc
