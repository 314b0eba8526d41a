"""Service start-up: seconds from a SIGKILL until the service is back and its probe
passes, per service, on either backend (Docker: each container at its CPU limit).

    .venv/bin/python benchmarks/service_startup.py [--backend local|compose] [--rounds 3]

Starts the whole stack, then kills each SecureConnect service in turn and waits,
without helping, until its supervisor (the harness's watchdog on the local
backend, Docker's restart policy on the compose backend) has restarted it and its
probe passes — what HEALTH-002 judges against 30 s. Prints the median and the
worst of the rounds.

Target: each service ready within 5 s of its start.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

from harness.checks.library.container import recovery_time
from harness.platform.backends import BACKENDS, create_platform
from harness.platform.base import services_of

TARGET_S = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="local", choices=BACKENDS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    platform = create_platform(args.backend)
    platform.up()
    try:
        times = {name: [] for name in services_of(platform)}
        for _ in range(args.rounds):
            for name, seconds in times.items():
                seconds.append(recovery_time(platform, name))
    finally:
        platform.down()
    missed = 0
    print(f"{'service':<10} {'median':>8} {'worst':>8}   (seconds from SIGKILL to probe passing)")
    for name, seconds in times.items():
        back = [s for s in seconds if s is not None]
        worst = max(back) if len(back) == len(seconds) else float("inf")
        median = statistics.median(back) if back else float("inf")
        missed += worst > TARGET_S
        print(f"{name:<10} {median:8.1f} {worst:8.1f}   {'met' if worst <= TARGET_S else 'MISSED'}")
    print(f"load average after: {os.getloadavg()[0]:.2f}; target: every service <= {TARGET_S} s")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
