"""OBS-007's logic against a live Prometheus scraping a small exporter: a rule on a metric
nobody exports, or on a label value no series has, fails naming it; a series that
only appears with its incident is found after the warm-up makes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from harness.checks.evidence import EvidenceLog
from harness.checks.library import alert_selectors
from harness.platform.components.monitoring import Prometheus
from harness.platform.local import LocalPlatform
from harness.platform.ports import free_port
from harness.waiting import eventually


class LonePrometheus(Prometheus):
    """Prometheus without an Alertmanager: only its scrape and its API are used here."""

    depends_on = ()


class Exporter:
    """A service's /metrics: the degraded-mode gauge, and requests with no 5xx yet."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        Gauge("redis_degraded_mode", "degraded", ["service"], registry=self.registry).labels(
            "auth"
        ).set(0)
        self.requests = Counter(
            "http_requests_total", "requests", ["service", "status"], registry=self.registry
        )
        self.requests.labels("auth", "200").inc()
        self.port = free_port()
        self.server, self.thread = start_http_server(
            self.port, addr="127.0.0.1", registry=self.registry
        )


@pytest.fixture(scope="module")
def exporter() -> Iterator[Exporter]:
    served = Exporter()
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, exporter: Exporter) -> Iterator[str]:
    component = LonePrometheus("127.0.0.1:9", {"auth": [f"127.0.0.1:{exporter.port}"]})
    platform = LocalPlatform(tmp_path_factory.mktemp("prometheus"), [component], restart=False)
    platform.up()
    url = component.url()
    api = alert_selectors.SeriesApi(url)
    eventually(
        lambda: api.count("redis_degraded_mode") > 0 and api.count('up{job="prometheus"}') > 0,
        30,
        0.5,
        what="the first scrape of both jobs",
    )
    yield url
    platform.down()


def _rules(directory: Path, rules: dict[str, str]) -> Path:
    body = "".join(f"  - alert: {name}\n    expr: '{expr}'\n" for name, expr in rules.items())
    directory.mkdir(exist_ok=True)
    (directory / "rules.yml").write_text(f"groups:\n- name: test\n  rules:\n{body}")
    return directory


def test_selectors_of_a_rule_are_read_with_their_matchers() -> None:
    rule = alert_selectors.AlertRule(
        "HighErrorRate",
        'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
        Path("rules.yml"),
    )
    rendered = [s.render() for s in alert_selectors.selectors_of(rule)]
    assert rendered == ['http_requests_total{status=~"5.."}', "http_requests_total"]


def test_a_rule_on_a_metric_nobody_exports_fails_naming_it(prometheus: str, tmp_path: Path) -> None:
    rules = _rules(
        tmp_path / "rules",
        {
            "RedisDegradedMode": "max by (service) (redis_degraded_mod) == 1",
            "ServiceDown": 'up{job="secure-connect"} == 0',
            "Healthy": "max by (service) (redis_degraded_mode) == 1",
        },
    )
    evidence = EvidenceLog()
    defects = alert_selectors.selector_defects(rules, prometheus, evidence)
    text = "; ".join(defects)
    assert len(defects) == 2, defects
    assert "RedisDegradedMode can never fire: redis_degraded_mod" in text
    assert "no series of redis_degraded_mod at all" in text
    assert 'ServiceDown can never fire: up{job="secure-connect"}' in text
    assert "job values: prometheus, secureconnect" in text
    counts = {e.label: e.value for e in evidence.items}
    assert counts["Healthy selectors"] == "redis_degraded_mode → 1 series"


def test_a_series_made_by_the_warm_up_is_matched(
    prometheus: str, exporter: Exporter, tmp_path: Path
) -> None:
    rules = _rules(tmp_path / "rules", {"HighErrorRate": 'http_requests_total{status=~"5.."}'})
    assert alert_selectors.selector_defects(rules, prometheus, EvidenceLog())
    warmed = []

    def warm_up(alert: str) -> None:
        warmed.append(alert)
        exporter.requests.labels("auth", "503").inc()

    assert alert_selectors.selector_defects(rules, prometheus, EvidenceLog(), warm_up) == []
    assert warmed == ["HighErrorRate"]
