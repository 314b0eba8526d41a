"""Services reach every data store through Toxiproxy, and a cut there really cuts.

Proof of each cut: the harness's own connection through the proxy refused or
dropped while it was on. The shipped chaos overlay (compose/docker-compose.chaos.yml,
what staging and chaos drills run) must wire the same edges through its Toxiproxy:
every service that names a store in its /ready reaches it through the proxy there too.
"""

from __future__ import annotations

from pathlib import Path

from harness import AddressOf, EvidenceLog, FaultInjector, Platform, check, services_of
from harness.checks import chaos_wiring, components

PROXIED = ("postgres", "redis", "s3")


@check(
    "CONN-001",
    "Every data-store edge runs through a Toxiproxy proxy that can cut it",
    category="connectivity",
    severity="HIGH",
    finding="Inter-service connectivity: dependency failures must be testable",
    fix="Point services at the proxy listen addresses, never at the stores directly; in the "
    "chaos overlay too, for every service that uses a store.",
    impact="Dependency failures cannot be injected, so degraded-mode behaviour stays untested and "
    "unknown.",
)
def test_every_edge_is_proxied_and_cuttable(
    stack: Platform,
    proxied: AddressOf,
    faults: FaultInjector,
    compose_dir: Path,
    evidence: EvidenceLog,
) -> None:
    proxies = stack.toxiproxy.proxies()
    for name in PROXIED:
        assert name in proxies, f"no Toxiproxy proxy for {name}"
        assert proxies[name].upstream == stack.endpoint(name).address, (
            f"the {name} proxy points at {proxies[name].upstream}, not at {name}"
        )
        before = components.connects(proxied(name))
        with faults.cut(name) as window:
            during = components.connects(proxied(name))
            window.observe("connections through the proxy refused", during != "connected")
        after = components.connects(proxied(name))
        evidence.note(
            f"{name} via proxy: before / during cut / after", f"{before} / {during} / {after}"
        )
        assert before == "connected" and after == "connected", f"{name} proxy does not pass traffic"
        assert during != "connected", f"cutting the {name} proxy did not stop connections"
    urls = {name: stack.endpoint(name).url or "" for name in services_of(stack)}
    defects = chaos_wiring.overlay_wiring_defects(
        compose_dir, chaos_wiring.store_users(urls), evidence
    )
    assert not defects, "chaos overlay: " + "; ".join(defects)
