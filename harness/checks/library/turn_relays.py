"""CFG-015: coturn's health check gives back the relay it allocates.

A TURN allocation made over UDP lives until its lifetime ends (600 s by default)
unless the client deletes it, and turnutils_uclient never does. A health check
that allocates over UDP every 30 s therefore holds about 20 relay ports at any
time, half of the 41 the compose file publishes, and calls get "508 Cannot create
socket" while coturn looks healthy. Over TCP (`-t`) coturn frees the allocation
when the connection closes; the relay itself is still UDP. A health check that
allocates nothing (a STUN Binding) holds nothing.
"""

from __future__ import annotations

from harness.checks.evidence import EvidenceLog
from harness.checks.library import config_audit

UCLIENT = "turnutils_uclient"
#: turnutils_uclient's switches that take no value, so a group such as `-ty` holds -t.
UCLIENT_SWITCHES = frozenset("tTPyhcxXgDNGMOUv")


def uclient_calls(text: str) -> list[list[str]]:
    """The arguments of every turnutils_uclient call in a health check and its scripts."""
    calls = []
    for line in text.replace("\\\n", " ").splitlines():
        words = [] if line.lstrip().startswith("#") else line.split()
        start = next((i for i, word in enumerate(words) if word.endswith(UCLIENT)), None)
        if start is not None:
            calls.append(words[start + 1 :])
    return calls


def over_tcp(arguments: list[str]) -> bool:
    """The call allocates over TCP: -t alone or in a group of switches."""
    return any(
        word.startswith("-")
        and not word.startswith("--")
        and "t" in word[1:]
        and set(word[1:]) <= UCLIENT_SWITCHES
        for word in arguments
    )


def relay_holding_defects(compose: config_audit.ComposeFile, evidence: EvidenceLog) -> list[str]:
    """Every TURN health check that allocates does so over TCP."""
    defects = []
    for name in config_audit.turn_services(compose):
        calls = uclient_calls(config_audit.healthcheck_script_text(compose, name))
        shown = "; ".join(" ".join(call) for call in calls) or "none (it allocates nothing)"
        evidence.note(f"{name} health check allocations", shown)
        if not all(over_tcp(call) for call in calls):
            defects.append(
                f"{name}: its health check allocates over UDP ({UCLIENT} without -t): "
                "every run holds a relay port for the allocation's lifetime"
            )
    return defects
