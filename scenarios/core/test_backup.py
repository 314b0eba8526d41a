"""The backup flow, a check per step: a write is in the next scheduled backup (read from the
backup bucket), and that backup restores into an empty database."""

from __future__ import annotations

import pytest

from harness import AddressOf, ApiClient, EvidenceLog, Platform, one_check_each, require_components
from harness.checks import flows_backup


@pytest.mark.parametrize(
    "step",
    one_check_each(
        dict(zip(("CORE-026", "CORE-027"), flows_backup.STEPS, strict=True)),
        "Backup: {item}",
        category="core",
        severity="HIGH",
        finding="Backup flow: scheduled backups and restore",
        fix="Dump the whole database (pg_dump --format=custom) on schedule and keep the dumps "
        "restorable with pg_restore: {item}.",
        impact="Backups exist but miss recent writes or cannot be restored: data is lost when "
        "the database is.",
    ),
)
def test_backup_step(
    step: str,
    stack: Platform,
    proxied: AddressOf,
    api: ApiClient,
    evidence: EvidenceLog,
) -> None:
    require_components(stack.names(), "backup", "chat")
    with flows_backup.backup_after_write(stack, proxied, api, evidence) as backup:
        flows_backup.STEPS[step](backup, evidence)
