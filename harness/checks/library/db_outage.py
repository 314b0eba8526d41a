"""PostgreSQL cut, slow or killed: what every service must do about it.

/ready of every service that needs the database says so (503, postgres down) within
seconds; a write fails fast (503, or the request budget's 504 when the database is only
slow) instead of hanging; once PostgreSQL is back the same processes serve writes again,
none restarted. Whether anything acknowledged was lost is INV-008..010's question.

    with db_outage.FAULTS["cut"](faults) as window: ...
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from harness.checks.evidence import EvidenceLog
from harness.clients.api import ApiClient, Session
from harness.clients.realtime import Chat
from harness.faults.injector import FaultInjector, FaultWindow
from harness.metrics import watch
from harness.platform.base import Platform, services_of
from harness.platform.components.services import BACKEND_BUDGET_S
from harness.waiting import eventually

#: Latency added to every PostgreSQL packet for "slow": above the readiness ping's 1 s.
SLOW_MS = 1500
#: How long /ready may take to say the database is down, seconds (ping 1 s + one probe).
READY_DEADLINE_S = 5.0
#: How long the services may take to serve writes once PostgreSQL is back (a killed
#: PostgreSQL replays its log first), seconds.
RECOVERY_DEADLINE_S = 30.0
#: Slack on the service's request budget for the round trip through the gateway, seconds.
ANSWER_SLACK_S = 1.0
DB_ERRORS = "database errors counted by chat"
WRITES_REFUSED = "writes refused"

Fault = Callable[[FaultInjector], contextlib.AbstractContextManager[FaultWindow]]

FAULTS: dict[str, Fault] = {
    "cut": lambda faults: faults.cut("postgres"),
    "slow": lambda faults: faults.latency("postgres", ms=SLOW_MS),
    "killed": lambda faults: faults.killed("postgres"),
}
#: What a write may answer under each fault: a slow database may run out the request's
#: own budget (504) before the database call's deadline (503).
REFUSALS: dict[str, set[int]] = {"cut": {503}, "slow": {503, 504}, "killed": {503}}
#: A killed PostgreSQL that its restart policy (Docker's, or the local watchdog) brought
#: back while the write waited for a connection: serving it is right, if within budget.
SERVED = 201


def _ready(url: str) -> httpx.Response:
    return httpx.get(f"{url}/ready", timeout=READY_DEADLINE_S)


def database_services(stack: Platform) -> dict[str, str]:
    """name → URL of every service whose /ready names postgres."""
    found = {}
    for name in services_of(stack):
        url = stack.endpoint(name).url or ""
        if url and "postgres" in _ready(url).json().get("dependencies", {}):
            found[name] = url
    return found


def _postgres_state(url: str) -> tuple[int, str]:
    answer = _ready(url)
    return answer.status_code, answer.json()["dependencies"]["postgres"]["state"]


@dataclass
class Writer:
    """Alice's messages to bob: the write whose answer the check times."""

    alice: Session
    conversation: str

    @classmethod
    def of(cls, api: ApiClient) -> Writer:
        alice, bob = api.new_session(), api.new_session()
        return cls(alice, Chat(api, alice).conversation(bob))

    def write(self, api: ApiClient) -> tuple[int, float]:
        """Send through `api` (the gateway, or one instance); (status, seconds)."""
        started = time.monotonic()
        try:
            status = Chat(api, self.alice).send(self.conversation, "outage").status_code
        except httpx.TimeoutException:
            status = 0  # no answer at all within the client's timeout
        return status, time.monotonic() - started


DOWN = (503, "down")


def _states(services: dict[str, str]) -> dict[str, tuple[int, str]]:
    return {name: _postgres_state(url) for name, url in services.items()}


def _seen_down(services: dict[str, str]) -> dict[str, tuple[int, str]]:
    """Each service's /ready (status, postgres state): the first that said postgres down
    within READY_DEADLINE_S, else the last seen. Asked all at once (a probe of a down
    database waits for its ping's timeout) and each judged on its own."""
    seen: dict[str, tuple[int, str]] = {}

    def all_down() -> bool:
        looking = [name for name in services if seen.get(name) != DOWN]
        with ThreadPoolExecutor(max_workers=len(looking)) as pool:
            states = pool.map(lambda name: _postgres_state(services[name]), looking)
            seen.update(zip(looking, states, strict=True))
        return all(state == DOWN for state in seen.values())

    with contextlib.suppress(TimeoutError):
        eventually(all_down, READY_DEADLINE_S, interval_s=0.2)
    return seen


def judge(
    stack: Platform, faults: FaultInjector, api: ApiClient, fault: str, evidence: EvidenceLog
) -> None:
    services = database_services(stack)
    assert services, "no service names postgres in its /ready"
    writer = Writer.of(api)
    restarts = {name: stack.restarts(name) for name in services}
    chats = [url for name, url in services.items() if name.startswith("chat")]
    errors = [watch(url, "db_errors_total") for url in chats]
    # /ready is watched from just before the fault: a killed PostgreSQL is back in seconds.
    with ThreadPoolExecutor(max_workers=1) as watcher:
        watching = watcher.submit(_seen_down, services)
        with FAULTS[fault](faults) as window:
            status, elapsed = writer.write(api)
            during = watching.result()
            window.observe(WRITES_REFUSED, status != 201)
            window.observe_growth(DB_ERRORS, lambda: sum(e() for e in errors), 1.0)
            faults.require_proof(evidence)  # before judging: a fault no request met
    evidence.number("write answered", status)
    evidence.number("write answered after", elapsed, "s")
    evidence.note("/ready during the fault (status, postgres state)", str(during))
    wrong = {name: state for name, state in during.items() if state != DOWN}
    assert not wrong, f"/ready does not say the database is down: {wrong}"
    budget = BACKEND_BUDGET_S + ANSWER_SLACK_S
    allowed = REFUSALS[fault] | (
        {SERVED} if fault == "killed" and _back(stack, evidence) else set()
    )
    assert status in allowed and elapsed <= budget, (
        f"a write answered {status} after {elapsed:.1f}s; expected {sorted(allowed)} "
        f"within {budget}s"
    )
    _recovered(stack, writer, services, restarts, evidence)


def _back(stack: Platform, evidence: EvidenceLog) -> bool:
    """Whether PostgreSQL answers again (restarted by its platform) right after the write."""
    try:
        stack.probe("postgres")
    except Exception as exc:  # any failure of the probe means "not back"
        evidence.note("PostgreSQL after the write", f"still down: {type(exc).__name__}")
        return False
    evidence.note("PostgreSQL after the write", "back: its platform restarted it")
    return True


def _serves_writes(writer: Writer, name: str, url: str) -> None:
    with ApiClient(url) as direct:
        eventually(
            lambda: writer.write(direct)[0] == 201, RECOVERY_DEADLINE_S, 0.5, f"a write on {name}"
        )


def _recovered(
    stack: Platform,
    writer: Writer,
    services: dict[str, str],
    restarts: dict[str, int],
    evidence: EvidenceLog,
) -> None:
    """Writes through every chat instance and /ready come back by themselves, with the same
    processes (through the gateway, one instance that recovered would hide one that did not)."""
    started = time.monotonic()
    for name, url in services.items():
        if name.startswith("chat"):
            _serves_writes(writer, name, url)
    evidence.number(
        "every chat instance served writes again after", time.monotonic() - started, "s"
    )
    eventually(
        lambda: all(s == (200, "ok") for s in _states(services).values()),
        RECOVERY_DEADLINE_S,
        0.5,
        "/ready ok everywhere",
    )
    restarted = {n: stack.restarts(n) - before for n, before in restarts.items()}
    assert not any(restarted.values()), f"services were restarted to recover: {restarted}"
