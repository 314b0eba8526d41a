"""The pytest plugin of the harness: checks, their results, and the stack fixture.

Registered by the root conftest.py. It turns every test carrying the `check`
marker into a recorded CheckResult (status, duration, evidence); a check that
was deselected or never reached is recorded as "not run", never as passed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Iterator
from dataclasses import asdict
from pathlib import Path

import allure
import httpx
import pytest

from harness.checks.evidence import EvidenceLog, fault_evidence
from harness.checks.history import History
from harness.checks.model import CATEGORIES, PROFILES, Check, CheckResult, Evidence, Status
from harness.checks.registry import check_of
from harness.checks.session import RunSoFar
from harness.checks.steady import restore_steady_state
from harness.checks.timing import FixtureClock, total_s
from harness.errors import CheckError, HarnessError, Inconclusive, NotGranted
from harness.faults.injector import FaultInjector
from harness.platform.backends import BACKENDS, create_platform
from harness.platform.base import Platform
from harness.redaction import redact_text, register_stack_secrets

#: Exceptions that are the system's fault when a check raises them.
SYSTEM_FAILURES = (AssertionError, OSError, TimeoutError, httpx.HTTPError)
EVIDENCE_KEY = pytest.StashKey[EvidenceLog]()
#: The platform `readiness run` already started; scenarios use it instead of their own.
PLATFORM_KEY = pytest.StashKey[Platform]()
RESULTS_KEY = pytest.StashKey[dict[str, CheckResult]]()
#: The stack this session's checks run against, once the `stack` fixture made it.
ACTIVE_PLATFORM_KEY = pytest.StashKey[Platform]()
#: What the steady-state guard repaired before a check, for its evidence.
REPAIRS_KEY = pytest.StashKey[list[str]]()
DEFAULT_COMPOSE_DIR = Path(__file__).resolve().parents[2] / "compose"
#: Setup times of fixtures broader than a function (checks/timing.py).
CLOCK_KEY = pytest.StashKey[FixtureClock]()
#: A test's own seconds per phase (setup, call, teardown).
PHASES_KEY = pytest.StashKey[dict[str, float]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("readiness")
    group.addoption("--readiness-results", type=Path, help="write check results as JSON here")
    group.addoption(
        "--readiness-histories", type=Path, help="save write histories (JSON Lines) here"
    )
    group.addoption(
        "--readiness-services",
        default=None,
        help="comma-separated backends to start (default: every one that exists)",
    )
    group.addoption(
        "--readiness-backend",
        choices=BACKENDS,
        default="local",
        help="where the stack fixture runs the stack (local processes, the compose deployment "
        "as containers, or attach to the deployment of --readiness-stack), and which "
        "backend-specific checks are selected",
    )
    group.addoption(
        "--readiness-stack",
        type=Path,
        default=None,
        help="the stack file of the deployment --readiness-backend=attach judges",
    )
    group.addoption(
        "--readiness-category",
        action="append",
        default=[],
        help="run only checks of this category (repeatable)",
    )
    group.addoption(
        "--readiness-profile",
        choices=PROFILES,
        default="full",
        help="smoke runs the quick checks; full runs all",
    )
    group.addoption(
        "--readiness-check",
        action="append",
        default=[],
        metavar="ID",
        help="run only the check with this id (repeatable), whatever its profile or category",
    )
    group.addoption(
        "--readiness-compose-dir",
        type=Path,
        default=None,
        help="the compose/ folder the configuration audit reads (default: this checkout's)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "check(check): a readiness check (see harness.checks)")
    config.addinivalue_line(
        "markers",
        "steady_state(services=False, judges=()): before this check, verify Toxiproxy and "
        "the components but not the services; or the services but for the dependencies it "
        'judges, and their /health when it judges "/health" (see harness.checks.steady)',
    )
    config.stash[RESULTS_KEY] = {}
    config.stash[CLOCK_KEY] = FixtureClock()


def _selected(check: Check, config: pytest.Config) -> bool:
    if not check.judged_on(config.getoption("--readiness-backend")):
        return False
    named = config.getoption("--readiness-check")
    if named:
        return check.id in named
    categories = config.getoption("--readiness-category")
    profile = config.getoption("--readiness-profile")
    if categories and check.category not in categories:
        return False
    return profile == "full" or check.profile == "smoke"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unknown = set(config.getoption("--readiness-category")) - set(CATEGORIES)
    if unknown:
        raise pytest.UsageError(f"unknown category: {', '.join(sorted(unknown))}")
    results = config.stash[RESULTS_KEY]
    seen: dict[str, str] = {}
    keep, drop = [], []
    for item in items:
        check = check_of(item)
        if check is None:
            keep.append(item)
            continue
        if check.id in seen:
            raise CheckError(f"check id {check.id} used twice: {seen[check.id]}, {item.nodeid}")
        seen[check.id] = item.nodeid
        selected = _selected(check, config)
        results[check.id] = CheckResult(
            check, Status.NOT_RUN, nodeid=item.nodeid, in_scope=selected
        )
        (keep if selected else drop).append(item)
    unnamed = set(config.getoption("--readiness-check")) - set(seen)
    if unnamed:
        raise pytest.UsageError(f"no collected check has the id {', '.join(sorted(unnamed))}")
    if drop:
        config.hook.pytest_deselected(items=drop)
    # Load checks leave the stack hot (queues, rate windows, alerts firing for minutes):
    # they run last, so no other check measures their aftermath. sorted() is stable.
    items[:] = sorted(keep, key=_runs_last)


#: Categories whose checks run after every other check.
LAST_CATEGORIES = ("load",)
#: Checks that run after those: they judge what every other check left behind.
FINAL_CHECKS = ("SEC-010",)


def _runs_last(item: pytest.Item) -> tuple[bool, bool]:
    check = check_of(item)
    if check is None:
        return (False, False)
    return (check.id in FINAL_CHECKS, check.category in LAST_CATEGORIES)


@pytest.fixture
def run_so_far(request: pytest.FixtureRequest) -> RunSoFar:
    histories = request.config.getoption("--readiness-histories")
    recorded = request.config.stash[RESULTS_KEY].values()
    results = [r for r in recorded if r.nodeid != request.node.nodeid]
    run_dir = histories.parent if histories is not None else None
    return RunSoFar(results, run_dir, request.config)


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Iterator[EvidenceLog]:
    """Record numbers, HTTP exchanges, logs and toxics for the report (and Allure)."""
    log = EvidenceLog()
    request.node.stash[EVIDENCE_KEY] = log
    yield log
    if log.items and request.config.getoption("--alluredir", None):
        body = json.dumps([asdict(item) for item in log.items], indent=2, default=str)
        allure.attach(body, name="evidence", attachment_type=allure.attachment_type.JSON)


@pytest.fixture(scope="module")
def experiment_evidence(request: pytest.FixtureRequest) -> EvidenceLog:
    """Evidence of a module-scoped experiment (its steady state, fault and steps), shown
    with every check of the module, also when a step of the experiment failed."""
    log = EvidenceLog()
    request.node.stash[EVIDENCE_KEY] = log
    return log


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[Platform]:
    """The running stack: the one `readiness run` started, else a local one for this session."""
    given = request.config.stash.get(PLATFORM_KEY, None)
    if given is not None:
        register_stack_secrets(given)
        yield given
        return
    wanted = request.config.getoption("--readiness-services")
    only = None if wanted is None else [s for s in wanted.split(",") if s]
    backend = request.config.getoption("--readiness-backend")
    stack_file = request.config.getoption("--readiness-stack")
    with create_platform(backend, only, stack_file=stack_file) as platform:
        request.config.stash[ACTIVE_PLATFORM_KEY] = platform
        register_stack_secrets(platform)
        yield platform
    del request.config.stash[ACTIVE_PLATFORM_KEY]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Before a check that uses the stack (and before its experiment's fixtures), verify
    the steady state and repair what an earlier check left broken; see checks/steady.py."""
    platform = item.config.stash.get(PLATFORM_KEY, None) or item.config.stash.get(
        ACTIVE_PLATFORM_KEY, None
    )
    if platform is not None and check_of(item) is not None and "stack" in item.fixturenames:
        scope = item.get_closest_marker("steady_state")
        services = scope is None or bool(scope.kwargs.get("services", True))
        judged = () if scope is None else tuple(scope.kwargs.get("judges", ()))
        item.stash[REPAIRS_KEY] = restore_steady_state(platform, services, judged)
    return (yield)


@pytest.fixture(scope="session")
def compose_dir(request: pytest.FixtureRequest) -> Path:
    """The compose/ folder under audit: this checkout's, or --readiness-compose-dir."""
    given: Path | None = request.config.getoption("--readiness-compose-dir")
    return given if given is not None else DEFAULT_COMPOSE_DIR


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    """Time fixtures broader than a function, so a check's duration is its own (timing.py)."""
    started = time.monotonic()
    try:
        return (yield)
    finally:
        clock = request.config.stash.get(CLOCK_KEY, None)
        if clock is not None:
            elapsed = time.monotonic() - started
            clock.fixture_set_up(fixturedef.argname, fixturedef.scope, request.node.nodeid, elapsed)


@pytest.fixture
def history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[History]:
    """A write history for the lost-write check, saved where the report can find it."""
    check = check_of(request.node)
    recorded = History(check.id if check is not None else request.node.name)
    yield recorded
    directory = request.config.getoption("--readiness-histories") or tmp_path
    recorded.save(directory / f"{recorded.name}.jsonl")


@pytest.fixture
def faults(
    stack: Platform, evidence: EvidenceLog, request: pytest.FixtureRequest
) -> Iterator[FaultInjector]:
    """Inject faults into the stack; everything is undone after the test, pass or fail.

    Every fault's proof (what it touched) goes into the evidence; in a check, a
    fault that touched nothing makes it *unknown* (InertFault at teardown), never
    passed. A plain test (no check marker) is not made to error: its own
    assertions say whether its fault did anything.
    """
    injector = FaultInjector(stack)
    try:
        yield injector
    finally:
        problems = injector.restore()
        injector.record_proof(evidence)
        if problems:
            raise HarnessError(f"could not undo faults: {'; '.join(problems)}")
    if check_of(request.node) is not None:
        injector.require_proof()


def _status(report: pytest.TestReport, call: pytest.CallInfo[None]) -> Status:
    if report.skipped:
        return Status.SKIPPED
    if report.passed:
        return Status.PASS
    error = call.excinfo.value if call.excinfo is not None else None
    # A control the attached stack does not grant: the check could not run at all.
    if isinstance(error, NotGranted):
        return Status.NOT_RUN
    # An inert fault or a stack that could not be made healthy proves nothing either way.
    if isinstance(error, Inconclusive):
        return Status.UNKNOWN
    # A failed assertion, or the system refusing or timing out, fails the check, also
    # when it happens in a step of the experiment's fixture; a harness error or a bug
    # in the check means it could not be evaluated.
    if report.when in ("setup", "call") and isinstance(error, SYSTEM_FAILURES):
        return Status.FAIL
    return Status.ERROR


def _outlasts_teardown(recorded: Status, when: str) -> bool:
    """A teardown error does not hide a failure already recorded, nor a control an attached
    stack did not grant (whose fault, never injected, is inert at teardown). Before the
    call, "not run" is only the placeholder of a check not reached yet."""
    return recorded in (Status.FAIL, Status.ERROR) or (
        recorded == Status.NOT_RUN and when == "teardown"
    )


def _record_phase(item: pytest.Item, when: str, duration_s: float) -> None:
    clock = item.config.stash[CLOCK_KEY]
    phases = item.stash.get(PHASES_KEY, None)
    if phases is None:
        phases = {}
        item.stash[PHASES_KEY] = phases
    phases[when] = round(clock.own_time(duration_s), 3)
    phases.update(clock.shared_with(item))


def _fault_windows(item: pytest.Item) -> list[Evidence]:
    """The windows of the `faults` fixture, placed on the clock of the check's evidence."""
    log = item.stash.get(EVIDENCE_KEY, None)
    injector = (getattr(item, "funcargs", None) or {}).get("faults")
    if log is None or not isinstance(injector, FaultInjector):
        return []
    return [fault_evidence(window, log.started_at) for window in injector.windows]


def _evidence_of(item: pytest.Item) -> list[Evidence]:
    module = item.getparent(pytest.Module)
    shared = module.stash.get(EVIDENCE_KEY, EvidenceLog()).items if module is not None else []
    evidence = [*shared, *item.stash.get(EVIDENCE_KEY, EvidenceLog()).items, *_fault_windows(item)]
    repairs = item.stash.get(REPAIRS_KEY, [])
    if repairs:
        evidence = [Evidence("text", "steady state repaired before the check", repairs), *evidence]
    return evidence


def _complete(item: pytest.Item, check: Check | None) -> None:
    """Bring the check's result up to date: every phase timed, evidence recorded since."""
    result = item.config.stash[RESULTS_KEY].get(check.id) if check is not None else None
    phases = item.stash.get(PHASES_KEY, None)
    if result is None or result.nodeid != item.nodeid or phases is None:
        return
    result.phases = dict(phases)
    result.duration_s = total_s(result.phases)
    result.evidence = _evidence_of(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield
    _record_phase(item, report.when, call.duration)
    check = check_of(item)
    if check is None or (report.when != "call" and report.passed):
        _complete(item, check)
        return report
    results = item.config.stash[RESULTS_KEY]
    previous = results.get(check.id)
    status = _status(report, call)
    if previous is not None and _outlasts_teardown(previous.status, report.when):
        _complete(item, check)
        return report
    evidence = _evidence_of(item)
    message = ""
    error = call.excinfo.value if call.excinfo is not None else None
    if isinstance(error, NotGranted):
        message = str(error)[:500]  # it says what it is: "not granted: ..."
    elif call.excinfo is not None and not report.skipped:
        message = redact_text(call.excinfo.exconly().strip().splitlines()[0])[:500]
    elif report.skipped and isinstance(report.longrepr, tuple):
        message = redact_text(str(report.longrepr[2]))
    results[check.id] = CheckResult(
        check, status, round(call.duration, 3), message, item.nodeid, evidence
    )
    _complete(item, check)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("--readiness-results")
    if path is None:
        return
    results = session.config.stash[RESULTS_KEY]
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": [r.to_json() for r in results.values()],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
