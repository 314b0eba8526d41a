"""`readiness run`: start the stack, run the scenario suites, score, write the report."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.checks.model import CATEGORIES, PROFILES, CheckResult
from harness.checks.plugin import PLATFORM_KEY, RESULTS_KEY
from harness.checks.scoring import DEFAULT_POLICY, Policy, Scorecard
from harness.errors import ConfigError, HarnessError
from harness.platform.backends import check_backend, create_platform
from harness.platform.base import Platform
from harness.platform.local import ProgressCallback
from harness.redaction import redact_tree
from harness.report.inventory import snapshot_components
from harness.report.publish import publish

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENARIOS_DIR = REPO_ROOT / "scenarios"
#: Where a run keeps the components' logs.
COMPONENT_LOGS = "logs"
#: pytest exit codes that mean the suite itself broke, not that checks failed.
PYTEST_BROKEN = (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR)

#: Called with (check id or nodeid, status) as checks finish.
CheckProgress = Callable[[str, str], None]


@dataclass
class RunOptions:
    backend: str = "local"
    profile: str = "smoke"
    categories: list[str] = field(default_factory=list)
    gate: bool = False
    report_root: Path = Path("reports")
    policy_path: Path = DEFAULT_POLICY
    scenarios: Path = SCENARIOS_DIR
    #: Backends to start; None starts every one that exists.
    services: list[str] | None = None
    #: The stack file of the deployment `attach` judges.
    stack_file: Path | None = None

    def validate(self) -> Policy:
        check_backend(self.backend, self.stack_file, self.services)
        if self.profile not in PROFILES:
            raise ConfigError(f"unknown profile {self.profile!r}; available: {', '.join(PROFILES)}")
        unknown = [c for c in self.categories if c not in CATEGORIES]
        if unknown:
            raise ConfigError(
                f"unknown category {unknown[0]!r}; available: {', '.join(CATEGORIES)}"
            )
        return Policy.load(self.policy_path)


@dataclass
class RunOutcome:
    run_dir: Path
    scorecard: Scorecard
    exit_code: int
    #: The verdict with what narrows its scope ("GO — security only").
    badge: str = ""


class _RunPlugin:
    """Hands the started platform to the scenarios and reports progress."""

    def __init__(self, platform: Platform | None, on_check: CheckProgress) -> None:
        self.platform = platform
        self.on_check = on_check
        self.results: dict[str, CheckResult] = {}

    def pytest_configure(self, config: pytest.Config) -> None:
        if self.platform is not None:
            config.stash[PLATFORM_KEY] = self.platform

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            self.on_check(report.nodeid, report.outcome)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.results = session.config.stash[RESULTS_KEY]


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)


def run_suite(
    options: RunOptions,
    on_component: ProgressCallback | None = None,
    on_check: CheckProgress | None = None,
) -> RunOutcome:
    policy = options.validate()
    run_id = new_run_id()
    run_dir = options.report_root / run_id
    run_dir.mkdir(parents=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    platform = create_platform(options.backend, options.services, on_component, options.stack_file)
    try:
        platform.up()
        outputs = [
            # Checks judged on some backends only are selected for this one.
            f"--readiness-backend={options.backend}",
            f"--junitxml={run_dir / 'junit.xml'}",
            f"--alluredir={run_dir / 'allure-results'}",
            *(f"--readiness-category={c}" for c in options.categories),
        ]
        results = run_checks(
            platform, run_dir, options.profile, outputs, on_check, options.scenarios
        )
        components = snapshot_components(platform)
    finally:
        platform.save_logs(run_dir / COMPONENT_LOGS)
        platform.down()
    published = publish(
        run_dir,
        run_id,
        started,
        options.backend,
        options.profile,
        options.categories,
        list(results.values()),
        policy,
        options.report_root,
        services=options.services,
        components=components,
    )
    card = published.card
    failing = options.gate and card.verdict in policy.gate_fails_on
    return RunOutcome(run_dir, card, 1 if failing else 0, published.badge)


def run_checks(
    platform: Platform | None,
    run_dir: Path,
    profile: str,
    extra_args: list[str],
    on_check: CheckProgress | None = None,
    scenarios: Path = SCENARIOS_DIR,
) -> dict[str, CheckResult]:
    """Run the scenario suite against a started platform (None: the checks selected by
    `extra_args` need no stack); the log of the run goes to run_dir/pytest.log."""
    plugin = _RunPlugin(platform, on_check or (lambda _n, _s: None))
    args = [
        str(scenarios),
        f"--rootdir={REPO_ROOT}",
        f"--readiness-profile={profile}",
        f"--readiness-histories={run_dir / 'histories'}",
        "-p",
        "no:cacheprovider",
        # Plugins this process already imported (anyio...) cannot be assertion-rewritten.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        # pyproject.toml's own setting, for scenario folders outside the repository too.
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "-q",
        *extra_args,
    ]
    with (run_dir / "pytest.log").open("w") as log, contextlib.redirect_stdout(log):
        code = pytest.main(args, plugins=[plugin])
    # What pytest wrote (its log, JUnit, Allure, histories, load outputs) carries no
    # secret of the run; the components' logs are the product's own output, kept as
    # written (SEC-007 and SEC-010 judge them).
    redact_tree(run_dir, keep=(COMPONENT_LOGS,))
    if code == pytest.ExitCode.INTERRUPTED:
        raise KeyboardInterrupt  # a run stopped part-way has no verdict
    if code in PYTEST_BROKEN:
        raise HarnessError(
            f"the scenario suite could not run (pytest exit {int(code)}); "
            f"see {run_dir / 'pytest.log'}"
        )
    return plugin.results
