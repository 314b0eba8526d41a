"""API robustness: every operation of every service's contract, fuzzed through the gateway.

schemathesis draws requests from each operation's OpenAPI schema, valid ones
(positive) and ones the schema forbids (negative), with Hypothesis, from a fixed
seed and a budget per profile, in passes that authenticate differently (anonymous:
no token or a garbled one; authenticated: a valid user's token). Every answer is
judged by schemathesis' own checks: no 5xx, a documented status code and content
type, a body that matches the documented schema, and documented-invalid input
refused. A failing request is shrunk by Hypothesis to the smallest one that fails
the same way, kept as a curl line (schemathesis filters the token out of it).

Budgets bound the run: examples per operation and mode, seconds of shrinking per
operation (past them the smallest failure seen so far is kept), and seconds per
pass (past them the remaining operations are listed as not fuzzed).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: The seed of every campaign: the same requests, run after run.
FUZZ_SEED = 20_140_914
CALL_TIMEOUT_S = 15.0
CURL_CHARS = 1500
MESSAGE_CHARS = 300


@dataclass(frozen=True)
class FuzzBudget:
    #: Examples per operation, per generation mode (positive, negative), per pass.
    examples: int
    #: Seconds Hypothesis may spend shrinking one operation's failures.
    shrink_s: float
    #: Seconds one pass may take; operations left when it is spent are not fuzzed.
    pass_s: float


BUDGETS = {
    "smoke": FuzzBudget(examples=6, shrink_s=15.0, pass_s=150.0),
    "full": FuzzBudget(examples=40, shrink_s=60.0, pass_s=900.0),
}


@dataclass(frozen=True)
class Target:
    """One operation, as schemathesis loaded it from its service's document."""

    service: str
    operation: Any

    @property
    def route(self) -> str:
        return f"{self.operation.method.upper()} {self.operation.path}"


@dataclass(frozen=True)
class Pass:
    """How a pass authenticates: `headers()` before each request (a pass may log in
    again when its session was revoked, e.g. by fuzzing the logout route)."""

    name: str
    headers: Callable[[], dict[str, str]]
    after_operation: Callable[[], None] = lambda: None


@dataclass
class Finding:
    pass_name: str
    route: str
    mode: str
    #: schemathesis' failure code and title ("ST101 Server error"), or "no answer".
    failure: str
    status: int | None
    message: str
    curl: str
    server_side: bool

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.pass_name, self.route, self.mode, self.failure)

    def row(self) -> list[str]:
        status = "" if self.status is None else str(self.status)
        return [self.pass_name, self.route, self.mode, self.failure, status, self.curl]


@dataclass
class PassResult:
    name: str
    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    findings: dict[tuple[str, str, str, str], Finding] = field(default_factory=dict)
    #: Operation × mode left unfuzzed (budget spent, generation failed), with the reason.
    skipped: list[str] = field(default_factory=list)
    #: Operation × mode with nothing to generate (no input a negative case could break).
    ungenerable: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def record(self, finding: Finding) -> None:
        """Keep the shortest failing request of each kind: Hypothesis shrinks towards it."""
        kept = self.findings.get(finding.key)
        if kept is None or len(finding.curl) <= len(kept.curl):
            self.findings[finding.key] = finding

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def load_targets(gateway_document: Mapping[str, Any], documents: Mapping[str, Any]) -> list[Target]:
    """The gateway's own operations, and every public operation of every service."""
    import schemathesis  # on first use: it is large and few checks need it

    targets = []
    for service, document in [("gateway", gateway_document), *documents.items()]:
        for result in schemathesis.openapi.from_dict(dict(document)).get_all_operations():
            operation = result.ok()
            if service == "gateway" or operation.path.startswith("/api/"):
                targets.append(Target(service, operation))
    unique = {t.route: t for t in targets}
    return sorted(unique.values(), key=lambda t: (t.service, t.operation.path, t.route))


class Fuzzer:
    def __init__(
        self, gateway_url: str, targets: list[Target], budget: FuzzBudget, seed: int = FUZZ_SEED
    ) -> None:
        self.gateway_url = gateway_url
        self.targets = targets
        self.budget = budget
        self.seed = seed

    def run(self, fuzz_pass: Pass) -> PassResult:
        from schemathesis import GenerationMode

        result = PassResult(fuzz_pass.name)
        started = time.monotonic()
        for target in self.targets:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if time.monotonic() - started > self.budget.pass_s:
                    result.skipped.append(f"{target.route} ({mode.value}): pass budget spent")
                    continue
                self._fuzz(target, mode, fuzz_pass, result)
            fuzz_pass.after_operation()
        result.seconds = time.monotonic() - started
        return result

    def _fuzz(self, target: Target, mode: Any, fuzz_pass: Pass, result: PassResult) -> None:
        from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
        from hypothesis.errors import HypothesisException, Unsatisfiable
        from schemathesis.core.errors import SchemathesisError

        examiner = _Examiner(self, target, mode, fuzz_pass, result)
        campaign = settings(
            max_examples=self.budget.examples,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            print_blob=False,
            report_multiple_bugs=True,
        )

        def examine(case: Any) -> None:
            examiner(case)

        test = seed(self.seed)(campaign(given(target.operation.as_strategy(mode))(examine)))
        try:
            test()
        except _FOUND:
            pass  # recorded by the examiner (the smallest request of each failure)
        except Unsatisfiable:
            result.ungenerable.append(f"{target.route} ({mode.value})")
        except (HypothesisException, SchemathesisError) as exc:
            result.skipped.append(f"{target.route} ({mode.value}): {type(exc).__name__}: {exc}")


class _Examiner:
    """The body of one Hypothesis test: send the case, judge the answer, record."""

    def __init__(
        self, fuzzer: Fuzzer, target: Target, mode: Any, fuzz_pass: Pass, result: PassResult
    ) -> None:
        self.fuzzer = fuzzer
        self.target = target
        self.mode = mode
        self.fuzz_pass = fuzz_pass
        self.result = result
        self.first_failure_at: float | None = None

    def __call__(self, case: Any) -> None:
        import requests
        from hypothesis import reject

        if self._shrinking_spent():
            reject()  # keep the smallest failure found so far; spend no more calls
        headers = self.fuzz_pass.headers()
        try:
            response = case.call(
                base_url=self.fuzzer.gateway_url, headers=headers, timeout=CALL_TIMEOUT_S
            )
        except requests.RequestException as exc:
            self._found(case, headers, "no answer", None, repr(exc), server_side=True)
            raise _NoAnswer(repr(exc)) from exc
        self.result.calls[self.target.route] += 1
        self.result.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=_checks(self.mode), headers=headers)
        except _FOUND as exc:
            for failure in _failures(exc):
                self._found(
                    case,
                    headers,
                    f"{failure.code} {failure.title}",
                    response.status_code,
                    failure.message,
                    server_side=type(failure).__name__ == "ServerError",
                )
            raise

    def _shrinking_spent(self) -> bool:
        started = self.first_failure_at
        return started is not None and time.monotonic() - started > self.fuzzer.budget.shrink_s

    def _found(
        self,
        case: Any,
        headers: dict[str, str],
        failure: str,
        status: int | None,
        message: str,
        *,
        server_side: bool,
    ) -> None:
        if self.first_failure_at is None:
            self.first_failure_at = time.monotonic()
        curl = case.as_curl_command(headers=headers, base_url=self.fuzzer.gateway_url)
        self.result.record(
            Finding(
                self.fuzz_pass.name,
                self.target.route,
                self.mode.value,
                failure,
                status,
                " ".join(message.split())[:MESSAGE_CHARS],
                curl[:CURL_CHARS],
                server_side,
            )
        )


def _checks(mode: Any) -> list[Any]:
    from schemathesis import GenerationMode
    from schemathesis.checks import (
        content_type_conformance,
        negative_data_rejection,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    if mode == GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)
    return checks


class _NoAnswer(Exception):
    """The gateway did not answer (connection refused, reset, timed out)."""


#: What a failing example raises: schemathesis' Failure (an AssertionError), its
#: FailureGroup (a BaseExceptionGroup, also Hypothesis' group of several bugs), or
#: no answer at all.
_FOUND: tuple[type[BaseException], ...] = (AssertionError, BaseExceptionGroup, _NoAnswer)


def _failures(exc: BaseException) -> Iterator[Any]:
    from schemathesis.checks import Failure

    if isinstance(exc, Failure):
        yield exc
    elif isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _failures(inner)
