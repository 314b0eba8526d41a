"""Histories of writes under chaos, and the set-full check for lost writes.

A history is what clients did and saw, one operation per line (JSON Lines,
`histories/<name>.jsonl` in the report folder):

    {"index": 0, "time": 0.012, "process": 3, "type": "invoke", "f": "add", "value": "m-17"}
    {"index": 1, "time": 0.031, "process": 3, "type": "ok",     "f": "add", "value": "m-17"}
    {"index": 9, "time": 9.500, "process": -1, "type": "ok",    "f": "read", "value": ["m-17", ...]}

`type` is `invoke` when a client starts an operation and then one of `ok`
(acknowledged: it happened), `fail` (it certainly did not happen) or `info`
(unknown: a timeout or a reset). The final `read` lists what the system holds.

The set-full check (after Jepsen's) then classifies every added element: an
acknowledged add missing from the read is **lost**; an element read twice is
**duplicated**; one read but never added is **unexpected**; a failed add that
is present anyway is **failed but present**. Indeterminate adds may go either way.

For rules other than a set (`harness.checks.invariants`: ballots, reactions, files,
revocations, calls), `operations` pairs each invocation with its completion and
`possible_finals` gives the states a register may end in: any write that
happened or may have, unless an acknowledged one began after it completed.
Each checker records its own final read under its own `f` (`final_read(v, f)`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

INVOKE, OK, FAIL, INFO = "invoke", "ok", "fail", "info"
READER = -1


@dataclass(frozen=True)
class Op:
    index: int
    time: float
    process: int
    type: str
    f: str
    value: Any


class History:
    """A thread-safe recorder of operations, in the order they happened."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ops: list[Op] = []
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def record(self, process: int, type_: str, f: str, value: Any) -> Op:
        with self._lock:
            op = Op(
                len(self.ops), round(time.monotonic() - self._started, 6), process, type_, f, value
            )
            self.ops.append(op)
            return op

    def invoke(self, process: int, value: Any, f: str = "add") -> None:
        self.record(process, INVOKE, f, value)

    def complete(self, process: int, outcome: str, value: Any, f: str = "add") -> None:
        if outcome not in (OK, FAIL, INFO):
            raise ValueError(f"unknown outcome {outcome!r}")
        self.record(process, outcome, f, value)

    def final_read(self, values: Any, f: str = "read") -> None:
        """What the system holds at the end, as one read named `f` (one per checker)."""
        self.record(READER, OK, f, values)

    def last_read(self, f: str = "read") -> Any:
        reads = [op for op in self.ops if op.f == f and op.process == READER and op.type == OK]
        if not reads:
            raise ConfigError(f"history {self.name} has no final read {f!r}")
        return reads[-1].value

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(asdict(op)) + "\n" for op in self.ops))
        return path

    @classmethod
    def load(cls, path: Path) -> History:
        history = cls(path.stem)
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise ConfigError(f"cannot read history {path}: {exc.strerror}") from exc
        for number, line in enumerate(lines, 1):
            try:
                if line.strip():
                    history.ops.append(Op(**json.loads(line)))
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"history {path} line {number}: {exc}") from exc
        return history


@dataclass
class SetFullResult:
    acknowledged: int = 0
    lost: list[Any] = field(default_factory=list)
    duplicated: list[Any] = field(default_factory=list)
    unexpected: list[Any] = field(default_factory=list)
    failed_but_present: list[Any] = field(default_factory=list)
    indeterminate_present: int = 0
    indeterminate_absent: int = 0

    @property
    def valid(self) -> bool:
        return not (self.lost or self.duplicated or self.unexpected or self.failed_but_present)

    def summary(self) -> str:
        return (
            f"{self.acknowledged} acknowledged; lost {len(self.lost)}, duplicated "
            f"{len(self.duplicated)}, unexpected {len(self.unexpected)}, failed but present "
            f"{len(self.failed_but_present)}; indeterminate present "
            f"{self.indeterminate_present} / absent {self.indeterminate_absent}"
        )


def _outcomes(history: History) -> dict[Any, str]:
    """The strongest outcome of each added value: ok beats info beats fail."""
    rank = {FAIL: 0, INFO: 1, OK: 2}
    best: dict[Any, str] = {}
    for op in history.ops:
        if op.f != "add" or op.type == INVOKE:
            continue
        if op.value not in best or rank[op.type] > rank[best[op.value]]:
            best[op.value] = op.type
    invoked = {op.value for op in history.ops if op.f == "add" and op.type == INVOKE}
    for value in invoked - best.keys():
        best[value] = INFO  # invoked, never completed: unknown
    return best


def check_set_full(history: History) -> SetFullResult:
    read = Counter(history.last_read())
    outcomes = _outcomes(history)
    result = SetFullResult(acknowledged=sum(1 for o in outcomes.values() if o == OK))
    result.duplicated = sorted(v for v, n in read.items() if n > 1)
    result.unexpected = sorted(v for v in read if v not in outcomes)
    for value, outcome in sorted(outcomes.items(), key=lambda item: str(item[0])):
        present = value in read
        if outcome == OK and not present:
            result.lost.append(value)
        elif outcome == FAIL and present:
            result.failed_but_present.append(value)
        elif outcome == INFO:
            result.indeterminate_present += present
            result.indeterminate_absent += not present
    return result


@dataclass(frozen=True)
class Operation:
    """One operation from its invocation to its completion (None: it never completed).

    `invoked` and `completed` are indices in the history, so "completed before
    invoked" is real-time order between two operations.
    """

    process: int
    f: str
    value: Any
    outcome: str
    invoked: int
    completed: int | None
    result: Any = None

    def precedes(self, other: Operation) -> bool:
        """True when this one had completed before `other` was invoked."""
        return self.completed is not None and self.completed < other.invoked


def operations(history: History, *fs: str) -> list[Operation]:
    """The operations named `fs`, each invocation paired with its process's next completion."""
    open_by_process: dict[int, Op] = {}
    paired: list[Operation] = []
    for op in history.ops:
        if op.process == READER or (fs and op.f not in fs):
            continue
        if op.type == INVOKE:
            started = open_by_process.pop(op.process, None)
            if started is not None:  # invoked again without completing: unknown
                paired.append(
                    Operation(op.process, started.f, started.value, INFO, started.index, None)
                )
            open_by_process[op.process] = op
            continue
        started = open_by_process.pop(op.process, None)
        if started is None:
            raise ConfigError(f"history {history.name}: op {op.index} completes nothing")
        paired.append(
            Operation(
                op.process, started.f, started.value, op.type, started.index, op.index, op.value
            )
        )
    for started in open_by_process.values():
        paired.append(
            Operation(started.process, started.f, started.value, INFO, started.index, None)
        )
    return sorted(paired, key=lambda o: o.invoked)


def possible_finals(writes: list[Operation], initial: Any, state_of: Any) -> list[Any]:
    """The states a register may hold after `writes` (each sets `state_of(op)`).

    A write that happened (ok) or may have (info) can be the last one unless an
    acknowledged write began after it had completed; the initial state remains
    possible only while no write was acknowledged. Failed writes never count.
    """
    acknowledged = [w for w in writes if w.outcome == OK]
    finals = [] if acknowledged else [initial]
    for write in writes:
        if write.outcome == FAIL or any(write.precedes(later) for later in acknowledged):
            continue
        state = state_of(write)
        if state not in finals:
            finals.append(state)
    return finals
