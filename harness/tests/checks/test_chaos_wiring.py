"""CONN-001's audit of the chaos overlay: every edge a service uses runs through Toxiproxy
in compose/, and a copy that leaves an edge outside it is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.checks.evidence import EvidenceLog
from harness.checks.library.chaos_wiring import CHAOS_OVERLAY, overlay_wiring_defects
from harness.errors import CheckError

REPO = Path(__file__).resolve().parents[3]
#: What the local stack's services name in /ready (the gateway uses Redis only).
USERS = {
    "postgres": {"auth", "chat", "video", "storage", "backup"},
    "redis": {"auth", "chat", "video", "storage", "gateway"},
    "s3": {"video", "storage", "backup"},
}


@pytest.fixture
def compose(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO / "compose", tmp_path / "compose"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_shipped_overlay_proxies_every_edge() -> None:
    assert overlay_wiring_defects(REPO / "compose", USERS, EvidenceLog()) == []


def test_a_service_left_out_of_the_overlay_is_named(compose: Path) -> None:
    backup = "  backup:\n    environment: *through-toxiproxy\n    depends_on: *after-toxiproxy\n"
    _edit(compose / CHAOS_OVERLAY, backup, "")
    defects = overlay_wiring_defects(compose, USERS, EvidenceLog())
    assert defects == [
        "backup reaches postgres at postgres:5432 in the chaos overlay, not through "
        "toxiproxy:15432",
        "backup reaches s3 at s3:9000 in the chaos overlay, not through toxiproxy:19000",
    ]


def test_a_wrong_listen_port_is_named(compose: Path) -> None:
    _edit(compose / CHAOS_OVERLAY, 'SC_REDIS_PORT: "16379"', 'SC_REDIS_PORT: "6379"')
    defects = overlay_wiring_defects(compose, USERS, EvidenceLog())
    assert "chat reaches redis at toxiproxy:6379 in the chaos overlay" in " ".join(defects)


def test_a_proxy_to_somewhere_else_is_named(compose: Path) -> None:
    config = compose / "toxiproxy" / "toxiproxy.json"
    proxies = json.loads(config.read_text())
    proxies[0]["upstream"] = "postgres-replica:5432"
    config.write_text(json.dumps(proxies))
    defects = overlay_wiring_defects(compose, USERS, EvidenceLog())
    assert "the postgres proxy forwards to postgres-replica:5432, auth uses postgres:5432" in (
        defects
    )


def test_a_toxiproxy_without_its_proxies_is_named(compose: Path) -> None:
    _edit(compose / CHAOS_OVERLAY, "--config=/etc/secureconnect/toxiproxy.json", "--quiet")
    defects = overlay_wiring_defects(compose, USERS, EvidenceLog())
    assert "no Toxiproxy proxy named s3 in the chaos overlay" in defects


def test_an_unreadable_proxy_configuration_cannot_be_judged(compose: Path) -> None:
    (compose / "toxiproxy" / "toxiproxy.json").write_text("[{}]")
    with pytest.raises(CheckError, match="not a Toxiproxy configuration"):
        overlay_wiring_defects(compose, USERS, EvidenceLog())
