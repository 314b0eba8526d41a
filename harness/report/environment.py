"""The environment a run judged: the code (commit) and the machine it ran on."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GIT_TIMEOUT_S = 10.0
GIB = 1024**3


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def commit() -> str:
    """The commit judged, and whether the tree had changes not in it."""
    head = _git("rev-parse", "--short=12", "HEAD")
    if head is None:
        return "unknown (not a git checkout)"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return f"{head} (with uncommitted changes)" if dirty else head


def memory_total() -> str:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return "unknown"
    return f"{pages * size / GIB:.1f} GiB"


def deployment_of(backend: str) -> str | None:
    """What the container backend ran beyond the shipped compose files; None elsewhere."""
    if backend not in ("compose", "docker"):
        return None
    # Imported here: the container platform's modules only for its runs.
    from harness.platform.docker.deployment import HARNESS_OVERLAY, SHIPPED_FILES

    return f"{' + '.join(SHIPPED_FILES)} as rendered, with: {'; '.join(HARNESS_OVERLAY)}"


def describe_environment(backend: str = "local") -> dict[str, str]:
    """What results.json keeps under "environment"."""
    deployment = deployment_of(backend)
    return {
        **({"deployment": deployment} if deployment else {}),
        "commit": commit(),
        "host": platform.node() or "unknown",
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "cpus": str(os.cpu_count() or "unknown"),
        "memory": memory_total(),
        "python": platform.python_version(),
    }


def machine_line(environment: dict[str, str]) -> str:
    """ "host: 2 CPUs, 23.4 GiB, Linux 6.1 (x86_64)" from a recorded environment."""
    if not environment:
        return "not recorded"
    return (
        f"{environment.get('host', '?')}: {environment.get('cpus', '?')} CPUs, "
        f"{environment.get('memory', '?')} RAM, {environment.get('os', '?')}, "
        f"Python {environment.get('python', '?')}"
    )
