"""The stack a run judged, component by component, and the inventory tables of the report.

`snapshot_components` asks the platform (whatever backend runs the stack) about
each component at the end of the run: where it listened, through which
Toxiproxy proxy, its memory and CPU, how often it was restarted, and for the
SecureConnect services which security headers they sent. `inventory_rows`
joins that with what the compose files declare (compose_inventory.py), one row
per component, like the seed's tables.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from harness.checks.library.observability import SECURITY_HEADERS
from harness.platform.base import SERVICE_NAMES, Platform
from harness.report.compose_inventory import ComposeInventory, ComposeService

HEADER_TIMEOUT_S = 3.0
MIB = 1024 * 1024


@dataclass
class ComponentRecord:
    """One component as the platform saw it when the run ended."""

    name: str
    address: str = ""
    url: str | None = None
    pid: int | None = None
    proxy: str | None = None
    memory_bytes: int | None = None
    memory_limit_bytes: int | None = None
    cpu_percent: float | None = None
    processes: int | None = None
    restarts: int | None = None
    #: Security header → the value a service sent (None: absent); empty for non-services.
    headers: dict[str, str | None] = field(default_factory=dict)
    #: What could not be measured, and why.
    problems: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The component a numbered instance belongs to (chat-2 → chat)."""
        return self.name.split("-")[0] if self.name.split("-")[-1].isdigit() else self.name

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ComponentRecord:
        return cls(**raw)


def _headers(url: str, record: ComponentRecord) -> None:
    try:
        response = httpx.get(f"{url}/health", timeout=HEADER_TIMEOUT_S)
    except httpx.HTTPError as exc:
        record.problems.append(f"security headers: {type(exc).__name__}")
        return
    record.headers = {name: response.headers.get(name) for name in SECURITY_HEADERS}


def _measure(platform: Platform, record: ComponentRecord) -> None:
    try:
        sample = platform.stats(record.name)
    except Exception as exc:  # a component that died or a backend without stats
        record.problems.append(f"stats: {type(exc).__name__}: {exc}"[:200])
    else:
        record.memory_bytes = sample.rss_bytes
        record.cpu_percent = round(sample.cpu_percent, 1)
        record.processes = sample.processes
        record.memory_limit_bytes = getattr(sample, "memory_limit_bytes", None) or None
    with contextlib.suppress(Exception):
        record.restarts = platform.restarts(record.name)


def snapshot_components(platform: Platform) -> list[ComponentRecord]:
    """Every component of the running stack, measured now."""
    records = []
    for name in platform.names():
        info = platform.endpoint(name)
        record = ComponentRecord(name, info.address, info.url, info.pid, info.proxy_name)
        _measure(platform, record)
        if record.base in SERVICE_NAMES and info.url:
            _headers(info.url, record)
        records.append(record)
    return records


@dataclass
class InventoryRow:
    """A component as declared (compose) and as run (this run's platform)."""

    name: str
    declared: ComposeService | None
    instances: list[ComponentRecord]

    @property
    def ran(self) -> bool:
        return bool(self.instances)

    @property
    def memory_text(self) -> str:
        measured = [i.memory_bytes for i in self.instances if i.memory_bytes is not None]
        return " + ".join(f"{m / MIB:.0f} MiB" for m in measured)

    @property
    def cpu_text(self) -> str:
        measured = [i.cpu_percent for i in self.instances if i.cpu_percent is not None]
        return " + ".join(f"{c:.0f}%" for c in measured)

    @property
    def proxied_as(self) -> str:
        return ", ".join(sorted({i.proxy for i in self.instances if i.proxy}))


def inventory_rows(
    compose: ComposeInventory, components: list[ComponentRecord]
) -> list[InventoryRow]:
    """One row per component: the compose services in file order, then what ran only here
    (Toxiproxy, the mail capture...)."""
    rows = [
        InventoryRow(s.name, s, [c for c in components if c.base == s.name])
        for s in compose.services
    ]
    declared = {s.name for s in compose.services}
    extra: dict[str, list[ComponentRecord]] = {}
    for component in components:
        if component.base not in declared:
            extra.setdefault(component.base, []).append(component)
    return rows + [InventoryRow(name, None, instances) for name, instances in extra.items()]


def header_rows(components: list[ComponentRecord]) -> list[tuple[str, dict[str, str | None]]]:
    """(service, header → value) for every service that answered."""
    return [(c.name, c.headers) for c in components if c.headers]
