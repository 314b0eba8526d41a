"""Alerts made to fire end to end: fault → Prometheus → Alertmanager → webhook and e-mail.

A **recipe** is an incident that must fire some alerts: the fault to inject and
the traffic to send while it lasts. One incident can fire several alerts (auth
hung: ServiceDown and HighRequestTimeoutRate), so recipes group what can share
a fault and a full run stays short. Every alert of the rules needs a recipe;
`missing_recipes` names those that have none.

Rate and quantile alerts look back over minutes, so an alert may still be
firing from an earlier check; its notification would then be old and a new
incident could not start it again. Before the fault, `wait_until_quiet` waits
for the recipe's alerts to end (bounded by the rules' longest window), and an
alert counts only if it started after the recipe's fault did.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import httpx

from harness.checks.evidence import EvidenceLog
from harness.checks.library import alerts
from harness.errors import Inconclusive, InertFault
from harness.faults.injector import FaultInjector

#: Requests in one round of a recipe's traffic.
ROUND_REQUESTS = 40
#: The rules' longest window: 5 minutes. A ratio or quantile alert compares the fault's
#: traffic with all of the window's; right after a load test that takes until the load
#: has left the window. Within it, every rule's condition holds if the fault's traffic
#: alone crosses its threshold, plus the shortened `for:`, evaluation and grouping.
#: (On a quiet stack alerts arrive within 5-20 s.)
RULE_WINDOW_S = 300.0
FIRE_DEADLINE_S = RULE_WINDOW_S + 30.0
#: The e-mail goes out with the webhook; SMTP delivery to the capture server is local.
MAIL_DEADLINE_S = 20.0
#: An alert left firing by an earlier check has ended once its cause left the window.
QUIET_DEADLINE_S = RULE_WINDOW_S + 30.0
POLL_S = 1.0

C = TypeVar("C")


class Traffic(Protocol):
    """What an incident's users do: prepared before the fault, sent in rounds during it."""

    def prepare(self) -> None: ...

    def round(self, requests: int) -> int:
        """Send `requests`; return how many the fault touched (failed, slowed, fell back)."""
        ...


@dataclass(frozen=True)
class Recipe(Generic[C]):
    incident: str
    alerts: tuple[str, ...]
    fault: Callable[[FaultInjector], contextlib.AbstractContextManager[Any]]
    traffic: Callable[[C], Traffic]
    #: The services whose alerts the incident fires (the `service` label); None: any.
    #: The same alert for another service (slow start-up requests, an earlier check)
    #: neither counts nor has to end first.
    services: tuple[str, ...] | None = None

    def concerns(self, labels: dict[str, str]) -> bool:
        return labels.get("alertname") in self.alerts and (
            self.services is None or labels.get("service") in self.services
        )


def missing_recipes(alert_names: set[str], recipes: list[Recipe[C]]) -> list[str]:
    covered = {name for recipe in recipes for name in recipe.alerts}
    return sorted(alert_names - covered)


def recipe_for(alert: str, recipes: list[Recipe[C]]) -> Recipe[C] | None:
    return next((r for r in recipes if alert in r.alerts), None)


def active_alerts(prometheus_url: str, recipe: Recipe[C]) -> list[str]:
    """The recipe's alerts Prometheus has pending or firing now, with their labels."""
    answer = httpx.get(f"{prometheus_url}/api/v1/alerts", timeout=5).json()
    return [str(a["labels"]) for a in answer["data"]["alerts"] if recipe.concerns(a["labels"])]


def wait_until_quiet(prometheus_url: str, recipe: Recipe[C], evidence: EvidenceLog) -> None:
    """Wait until none of the recipe's alerts is active; unknown if one never ends."""
    started = time.monotonic()
    active = first_seen = active_alerts(prometheus_url, recipe)
    while active and time.monotonic() - started < QUIET_DEADLINE_S:
        time.sleep(POLL_S)
        active = active_alerts(prometheus_url, recipe)
    waited = time.monotonic() - started
    if first_seen:
        evidence.note(f"{recipe.incident}: active before the fault", "; ".join(first_seen))
        evidence.number(f"{recipe.incident}: waited for them to end", waited, "s")
    if active:
        raise Inconclusive(
            f"{recipe.incident}: still active from an earlier incident after "
            f"{QUIET_DEADLINE_S:.0f}s, a new one cannot start: {'; '.join(active)}"
        )


def next_quiet(prometheus_url: str, recipes: list[Recipe[C]]) -> Recipe[C] | None:
    """The first recipe none of whose alerts is still active from an earlier incident."""
    return next((r for r in recipes if not active_alerts(prometheus_url, r)), None)


def warm_up(recipe: Recipe[C], context: C, faults: FaultInjector) -> None:
    """One request of the recipe's traffic under its fault: the incident's series appear
    without enough of it to fire anything."""
    traffic = recipe.traffic(context)
    traffic.prepare()
    first = len(faults.windows)
    with recipe.fault(faults):
        touched = traffic.round(1)
        for window in faults.windows[first:]:
            window.observe("requests touched", touched)


def deliver(
    recipe: Recipe[C],
    traffic: Traffic,
    faults: FaultInjector,
    capture_url: str,
    evidence: EvidenceLog,
) -> float:
    """Inject the fault, send rounds of traffic until every alert is delivered; return
    when the fault started (wall clock)."""
    first = len(faults.windows)
    with recipe.fault(faults):
        windows = faults.windows[first:]
        since = min(window.started_at for window in windows)
        pending = list(recipe.alerts)
        started = time.monotonic()
        while pending and time.monotonic() - started < FIRE_DEADLINE_S:
            touched = traffic.round(ROUND_REQUESTS)
            for window in windows:
                window.observe("requests touched", touched)
            for name in list(pending):
                alert = alerts.delivered(capture_url, name, since, recipe.services)
                if alert is not None:
                    pending.remove(name)
                    evidence.number(f"{name} delivered after", time.monotonic() - started, "s")
                    evidence.note(f"{name} labels", f"{alert['labels']} at {alert['startsAt']}")
    for window in windows:
        evidence.note(f"{recipe.incident}: fault", window.describe())
    inert = [window.describe() for window in windows if not window.proven]
    if pending and inert:
        raise InertFault(f"{recipe.incident}: the fault touched no traffic: {'; '.join(inert)}")
    assert not pending, (
        f"{recipe.incident}: {', '.join(pending)} did not reach the webhook "
        f"within {FIRE_DEADLINE_S:.0f}s of the fault"
    )
    return since


def _mailed(capture_url: str, recipe: Recipe[C], since: float) -> list[str]:
    return [
        name
        for name in recipe.alerts
        if not alerts.mail_about(capture_url, name, since, recipe.services)
    ]


def fire(
    recipe: Recipe[C],
    context: C,
    faults: FaultInjector,
    evidence: EvidenceLog,
    *,
    prometheus_url: str,
    capture_url: str,
) -> None:
    """Make every alert of `recipe` reach the webhook and the mailbox, started after its
    fault; fail naming those that did not."""
    wait_until_quiet(prometheus_url, recipe, evidence)
    traffic = recipe.traffic(context)
    traffic.prepare()
    since = deliver(recipe, traffic, faults, capture_url, evidence)
    started = time.monotonic()
    unmailed = _mailed(capture_url, recipe, since)
    while unmailed and time.monotonic() - started < MAIL_DEADLINE_S:
        time.sleep(POLL_S)
        unmailed = _mailed(capture_url, recipe, since)
    evidence.number(f"{recipe.incident}: alert e-mails", len(recipe.alerts) - len(unmailed))
    assert not unmailed, f"{recipe.incident}: no alert e-mail for {', '.join(unmailed)}"


def fire_all(
    recipes: list[Recipe[C]],
    context: C,
    faults: FaultInjector,
    evidence: EvidenceLog,
    *,
    prometheus_url: str,
    capture_url: str,
) -> tuple[list[str], list[str]]:
    """Fire every recipe, each as soon as its alerts are quiet (alerts left by a load
    test end while other incidents run); return (failures, unknowns)."""
    pending, failed, unknown = list(recipes), [], []
    while pending:
        started = time.monotonic()
        recipe = next_quiet(prometheus_url, pending)
        while recipe is None and time.monotonic() - started < QUIET_DEADLINE_S:
            time.sleep(POLL_S)
            recipe = next_quiet(prometheus_url, pending)
        if time.monotonic() - started >= POLL_S:
            blocked = ", ".join(r.incident for r in pending)
            evidence.number(
                f"waited for earlier alerts of {blocked}", time.monotonic() - started, "s"
            )
        recipe = recipe or pending[0]  # fire() waits once more, then says what is active
        pending.remove(recipe)
        try:
            fire(
                recipe,
                context,
                faults,
                evidence,
                prometheus_url=prometheus_url,
                capture_url=capture_url,
            )
        except AssertionError as exc:
            failed.append(str(exc))
        except Inconclusive as exc:
            unknown.append(str(exc))
        unknown += [f"{recipe.incident}: {problem}" for problem in faults.restore()]
    return failed, unknown
