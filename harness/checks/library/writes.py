"""Writes as real clients make them, recorded as operations of a history.

Every HTTP write becomes one operation: ok for a 2xx, fail for a 4xx (it did
not happen), info for a timeout, a reset or a 5xx (it may have happened). A
client retries an indeterminate write the way a real one does: the same
request again (the same client_msg_id, ballot, reaction, file, token), a few
times with a short backoff; each attempt is its own operation, so the
checkers of `harness.checks.invariants` see the retries too.

`Recorder.trouble` counts the attempts that failed or were indeterminate, the
client's-view proof that a fault touched the writes.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from harness.checks.history import FAIL, INFO, OK, History

#: Attempts of one write before the client gives up (its outcome then stays unknown).
ATTEMPTS = 6
#: Backoff between attempts: the first, doubled each time, capped, seconds.
BACKOFF_FIRST_S = 0.1
BACKOFF_CAP_S = 1.0

#: Key of `Recorder.attempts` counting failed transfers.
TRANSFER_FAILED = "transfer failed"

Result = Callable[[httpx.Response], Any]


def outcome_of(status: int) -> str:
    if 200 <= status < 300:
        return OK
    return FAIL if 400 <= status < 500 else INFO


class Recorder:
    """Runs writes as operations of `history`, each client connection its own process."""

    def __init__(self, history: History) -> None:
        self.history = history
        self._processes = itertools.count()
        self._lock = threading.Lock()
        #: Attempts by outcome (ok, fail, info), for proof and evidence.
        self.attempts: Counter[str] = Counter()
        #: Attempts that failed or were unknown, by the kind of write (`f`).
        self.troubled: Counter[str] = Counter()

    def process(self) -> int:
        """A new process id: one per client connection."""
        with self._lock:
            return next(self._processes)

    def attempt(
        self, process: int, f: str, value: Any, send: Callable[[], httpx.Response], result: Result
    ) -> tuple[str, httpx.Response | None]:
        self.history.invoke(process, value, f)
        response: httpx.Response | None = None
        try:
            response = send()
            outcome = outcome_of(response.status_code)
        except httpx.HTTPError:
            outcome = INFO
        completed = result(response) if response is not None and outcome == OK else value
        self.history.complete(process, outcome, completed, f)
        with self._lock:
            self.attempts[outcome] += 1
            self.troubled[f] += outcome != OK
        return outcome, response

    def write(
        self,
        process: int,
        f: str,
        value: Any,
        send: Callable[[], httpx.Response],
        result: Result | None = None,
        attempts: int = ATTEMPTS,
    ) -> tuple[str, httpx.Response | None]:
        """The write, retried while indeterminate; the last outcome and answer."""
        outcome, response = INFO, None
        for number in range(attempts):
            if number:
                time.sleep(min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2 ** (number - 1)))
            outcome, response = self.attempt(process, f, value, send, result or (lambda r: value))
            if outcome != INFO:
                break
        return outcome, response

    def use(self, process: int, token: str, where: str, send: Callable[[], httpx.Response]) -> int:
        """A read with a token (f `use`): its status, 0 when there was no answer."""
        value = {"token": token, "where": where}
        self.history.invoke(process, value, "use")
        try:
            status = send().status_code
        except httpx.HTTPError:
            status = 0
        self.history.complete(process, OK, {"status": status}, "use")
        return status

    def transfer(self, send: Callable[[], httpx.Response]) -> bool:
        """A request that is no API write (the PUT of an upload's bytes), retried like
        one; True once it succeeded. Its failed attempts count as trouble too."""
        for number in range(ATTEMPTS):
            if number:
                time.sleep(min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2 ** (number - 1)))
            try:
                if send().status_code < 300:
                    return True
            except httpx.HTTPError:
                pass
            with self._lock:
                self.attempts[TRANSFER_FAILED] += 1
        return False

    def trouble_of(self, f: str) -> int:
        """Attempts of writes of kind `f` that failed or whose outcome is unknown."""
        with self._lock:
            return self.troubled[f]

    @property
    def trouble(self) -> int:
        """Attempts that failed or whose outcome is unknown (transfers included)."""
        with self._lock:
            return self.attempts[FAIL] + self.attempts[INFO] + self.attempts[TRANSFER_FAILED]
