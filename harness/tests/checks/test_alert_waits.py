"""An alert wait accepts only a firing notification that started after its fault: one left
over from an earlier check, or a resolved one, never counts (the capture server is real)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import uvicorn

from harness.checks.evidence import EvidenceLog
from harness.checks.library import alert_firing, alerts
from harness.checks.library.alert_firing import Recipe
from harness.errors import InertFault
from harness.faults.injector import FaultInjector, FaultWindow
from harness.platform.capture import Store, build_app
from harness.platform.ports import free_port


class CaptureServer:
    def __init__(self, directory: Path) -> None:
        self.store = Store(directory)
        self.port = free_port()
        config = uvicorn.Config(
            build_app(self.store), host="127.0.0.1", port=self.port, log_level="error"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notify(self, alertname: str, status: str, starts_at: float) -> None:
        started = datetime.fromtimestamp(starts_at, UTC).isoformat().replace("+00:00", "Z")
        alert = {"status": status, "labels": {"alertname": alertname}, "startsAt": started}
        body: dict[str, Any] = {"status": status, "alerts": [alert]}
        httpx.post(f"{self.url}/webhooks/alertmanager", json=body, timeout=5).raise_for_status()


@pytest.fixture
def capture(tmp_path: Path) -> Iterator[CaptureServer]:
    server = CaptureServer(tmp_path)
    server.thread.start()
    deadline = time.monotonic() + 10
    while not server.server.started and time.monotonic() < deadline:
        threading.Event().wait(0.05)
    yield server
    server.server.should_exit = True
    server.thread.join(timeout=10)


def test_a_notification_that_started_before_the_fault_is_ignored(capture: CaptureServer) -> None:
    fault_started = time.time()
    capture.notify("RedisDegradedMode", "firing", fault_started - 60)
    capture.notify("RedisDegradedMode", "resolved", fault_started + 1)
    with pytest.raises(AssertionError, match="RedisDegradedMode did not reach"):
        alerts.wait_for_alert(
            capture.url, "RedisDegradedMode", 1.5, EvidenceLog(), since=fault_started
        )


def test_a_notification_that_started_after_the_fault_is_accepted(capture: CaptureServer) -> None:
    fault_started = time.time()
    capture.notify("RedisDegradedMode", "firing", fault_started - 60)
    capture.notify("RedisDegradedMode", "firing", fault_started + 3)
    alert = alerts.wait_for_alert(
        capture.url, "RedisDegradedMode", 1.5, EvidenceLog(), since=fault_started
    )
    assert alerts._epoch(alert["startsAt"]) >= fault_started


def test_old_and_resolved_alert_mails_are_ignored(capture: CaptureServer) -> None:
    fault_started = time.time()
    old = {"subject": "[FIRING:1] RedisDegradedMode", "text": "", "received_at": fault_started - 5}
    resolved = {"subject": "[RESOLVED] RedisDegradedMode", "text": "", "received_at": time.time()}
    capture.store.messages = [old, resolved]
    assert alerts.mail_about(capture.url, "RedisDegradedMode", fault_started) == []
    fresh = {**old, "received_at": time.time()}
    capture.store.messages.append(fresh)
    assert alerts.mail_about(capture.url, "RedisDegradedMode", fault_started) == [fresh]


def test_an_alert_for_another_service_is_ignored(capture: CaptureServer) -> None:
    """Slow start-up requests of video fire HighHTTPLatency for video, not for auth."""
    fault_started = time.time()
    capture.notify("HighHTTPLatency", "firing", fault_started + 1)
    capture.store.messages = [
        {"subject": "[FIRING:1] HighHTTPLatency video (http warning)", "received_at": time.time()}
    ]
    assert alerts.delivered(capture.url, "HighHTTPLatency", fault_started, ("auth",)) is None
    assert alerts.mail_about(capture.url, "HighHTTPLatency", fault_started, ("auth",)) == []
    assert alerts.mail_about(capture.url, "HighHTTPLatency", fault_started, ("video",))


class FixedTraffic:
    """Traffic whose every round the fault touches `touched` requests of."""

    def __init__(self, touched: int) -> None:
        self.touched = touched

    def prepare(self) -> None:
        return None

    def round(self, requests: int) -> int:
        return self.touched


def _recipe(touched: int) -> Recipe[None]:
    def fault(faults: FaultInjector) -> contextlib.AbstractContextManager[None]:
        faults.windows.append(FaultWindow("cut", "redis"))
        return contextlib.nullcontext()

    return Recipe("Redis down", ("RedisDegradedMode",), fault, lambda _: FixedTraffic(touched))


@pytest.fixture
def injector() -> FaultInjector:
    """Only the windows of the injector are used: the recipe's fault records its own."""
    return FaultInjector(SimpleNamespace(toxiproxy=None))  # type: ignore[arg-type]


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alert_firing, "FIRE_DEADLINE_S", 1.0)


@pytest.mark.usefixtures("short_deadline")
def test_an_alert_that_never_comes_fails_the_recipe(
    capture: CaptureServer, injector: FaultInjector
) -> None:
    capture.notify("RedisDegradedMode", "firing", time.time() - 60)
    with pytest.raises(AssertionError, match="RedisDegradedMode did not reach the webhook"):
        alert_firing.deliver(_recipe(5), FixedTraffic(5), injector, capture.url, EvidenceLog())


@pytest.mark.usefixtures("short_deadline")
def test_an_inert_fault_is_unknown_not_failed(
    capture: CaptureServer, injector: FaultInjector
) -> None:
    with pytest.raises(InertFault, match="touched no traffic"):
        alert_firing.deliver(_recipe(0), FixedTraffic(0), injector, capture.url, EvidenceLog())


class AlertingTraffic(FixedTraffic):
    """Traffic after which Alertmanager (played by the test) notifies a fresh alert."""

    def __init__(self, capture: CaptureServer) -> None:
        super().__init__(touched=3)
        self.capture = capture

    def round(self, requests: int) -> int:
        self.capture.notify("RedisDegradedMode", "firing", time.time())
        return self.touched


@pytest.mark.usefixtures("short_deadline")
def test_an_alert_started_by_the_fault_is_delivered(
    capture: CaptureServer, injector: FaultInjector
) -> None:
    evidence = EvidenceLog()
    since = alert_firing.deliver(
        _recipe(3), AlertingTraffic(capture), injector, capture.url, evidence
    )
    assert since == injector.windows[0].started_at
    assert injector.windows[0].hits["requests touched"] == 3
    assert any(e.label == "RedisDegradedMode delivered after" for e in evidence.items)
