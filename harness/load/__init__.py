"""Load testing with Locust: run it as child processes, judge the SLOs, mark the faults.

    from harness.load import assert_slos_met, load_on_stack, profile_load
    assert_slos_met(load_on_stack(stack, profile_load("smoke"), out_dir))

Locust itself is never imported here (see harness.load.locust).
"""

from harness.load.checks import (
    CHAOS_CHECKS,
    assert_slos_met,
    chaos_load,
    load_on_stack,
    profile_load,
)
from harness.load.evaluate import Measure, SloReport, evaluate_run, evaluate_window
from harness.load.report import load_evidence
from harness.load.session import LoadOptions, LoadOutcome, run_load
from harness.load.slo import DEFAULT_SLO_FILE, SloFile, load_slo
from harness.load.stats import LocustStats, read_stats

__all__ = [
    "CHAOS_CHECKS",
    "DEFAULT_SLO_FILE",
    "LoadOptions",
    "LoadOutcome",
    "LocustStats",
    "Measure",
    "SloFile",
    "SloReport",
    "assert_slos_met",
    "chaos_load",
    "evaluate_run",
    "evaluate_window",
    "load_evidence",
    "load_on_stack",
    "load_slo",
    "profile_load",
    "read_stats",
    "run_load",
]
