"""The SLO file: the shipped one is valid; a bad one is one clear ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.load.slo import DEFAULT_SLO_FILE, load_slo


def _slo(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "slo.yaml"
    path.write_text(text)
    return path


def test_the_shipped_slo_file_names_every_journey_and_the_chaos_scenarios() -> None:
    slo = load_slo(DEFAULT_SLO_FILE)
    assert set(slo.journeys) == {"auth", "chat", "realtime", "polls", "files", "calls"}
    assert {"redis-down", "s3-down"} <= set(slo.chaos)
    assert slo.chaos["s3-down"].degraded == ["files"]


def test_step_thresholds_override_the_journeys(tmp_path: Path) -> None:
    slo = load_slo(
        _slo(
            tmp_path,
            "journeys:\n  chat:\n    p95_ms: 100\n    p99_ms: 200\n"
            "    steps: {'chat: search': {p95_ms: 150}}\n",
        )
    )
    chat = slo.journeys["chat"]
    assert chat.step("chat: search").p95_ms == 150 and chat.step("chat: search").p99_ms == 200
    assert chat.step("chat: send message").p95_ms == 100


def test_min_rps_scales_with_the_users(tmp_path: Path) -> None:
    slo = load_slo(_slo(tmp_path, "reference_users: 100\njourneys:\n  chat: {min_rps: 10}\n"))
    assert slo.min_rps("chat", 20) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("journeys: [", "not readable YAML"),
        ("- a list\n", "must be a mapping with 'journeys'"),
        ("reference_users: 100\n", "journeys: Field required"),
        (
            "journeys:\n  chat: {p95_ms: -5}\n",
            "journeys.chat.p95_ms: Input should be greater than 0",
        ),
        ("journeys:\n  chat: {p95_ms: 50, p99_ms: 10}\n", "p99_ms (10.0) is below p95_ms (50.0)"),
        ("journeys:\n  chat: {max_error_ratio: 2}\n", "max_error_ratio: Input should be less"),
        (
            "journeys:\n  chat: {p59_ms: 5}\n",
            "journeys.chat.p59_ms: Extra inputs are not permitted",
        ),
        (
            "journeys:\n  chat: {}\nchaos:\n  redis-down: {degraded: [fils]}\n",
            "chaos.redis-down names unknown journey 'fils'",
        ),
        (
            "journeys:\n  chat: {steps: {'auth: login': {p95_ms: 5}}}\n",
            "'auth: login' is not 'chat: ...'",
        ),
    ],
)
def test_a_bad_slo_file_is_one_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_slo(_slo(tmp_path, text))
    message = str(caught.value)
    assert expected in message and str(tmp_path) in message
    assert "\n" not in message


def test_a_missing_slo_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_slo(tmp_path / "nope.yaml")
