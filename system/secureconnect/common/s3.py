"""S3 for async services: the blocking minio client, made safe to use.

Every call goes through `ResilientS3.call`, which

- runs the blocking minio call on a dedicated thread pool (never on the
  event loop, never starving the default executor);
- bounds each HTTP exchange with urllib3 timeouts (S3_CONNECT_TIMEOUT_S,
  S3_READ_TIMEOUT_S) — urllib3's and minio's own retries are disabled, so
  the policy below is the only one;
- retries *transient* failures (connection errors, timeouts, 5xx, SlowDown)
  with exponential backoff and jitter, at most S3_MAX_ATTEMPTS times and
  not past S3_RETRY_BUDGET_S; permanent answers (403, 404, NoSuchKey,
  AccessDenied...) are returned to the caller at once;
- is guarded by a circuit breaker (`secureconnect.common.breaker`): after
  S3_BREAKER_FAILURES operations failed in a row, or S3_REFUSALS_TO_OPEN
  connections were refused in a row (nothing listens: an outage, not a
  flaky link), calls are refused for
  S3_BREAKER_RESET_S with a 503 `storage_unavailable` in microseconds; then
  one trial call probes S3 (half-open). A background prober makes that trial
  itself, so the breaker closes when S3 returns even without user traffic.
  An operation still retrying when the breaker opens stops at its next
  attempt, so the callers in flight when S3 went away fail fast too.

Metrics: `minio_circuit_breaker_open` (1 open or half-open, 0 closed),
`minio_circuit_breaker_transitions_total`, `s3_request_duration_seconds`
(per attempt), `s3_retries_total`, `s3_rejected_total`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.client import HTTPException
from typing import TypeVar
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError
from prometheus_client import Counter, Gauge, Histogram
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)
from urllib3 import BaseHTTPResponse

from secureconnect.common.breaker import BreakerOpen, BreakerState, CircuitBreaker
from secureconnect.common.clock import SYSTEM_CLOCK, Clock
from secureconnect.common.errors import DomainError
from secureconnect.common.health import Dependency, DependencyState
from secureconnect.common.metrics import LATENCY_BUCKETS_S, publish_periods
from secureconnect.common.settings import S3Settings
from secureconnect.common.tasks import stop

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Signing region; set so the client never asks the server for a bucket's location.
S3_REGION = "us-east-1"
S3_CONNECT_TIMEOUT_S = 1.0
#: Longest silence allowed while waiting for response bytes, seconds.
S3_READ_TIMEOUT_S = 3.0
#: Attempts per operation. Generous on purpose: the budget below bounds the time, and a
#: dependency resetting half of all connections must still be ridden out (0.5^10 ≈ 0.1%).
S3_MAX_ATTEMPTS = 10
#: No new attempt starts once this much time went into one operation, seconds.
S3_RETRY_BUDGET_S = 3.0
S3_BACKOFF_INITIAL_S = 0.02
S3_BACKOFF_MAX_S = 0.5
S3_BACKOFF_JITTER_S = 0.05
#: Consecutive failed operations (after their retries) that open the breaker.
S3_BREAKER_FAILURES = 5
#: Consecutive refused connections (no attempt succeeding between them) that open the
#: breaker at once. A refusal means nothing listens at the endpoint: retrying for the
#: whole budget would only make every caller wait. Resets and timeouts may be a flaky
#: link, and are ridden out by the retries.
S3_REFUSALS_TO_OPEN = 3
#: How long the breaker stays open before a trial call, seconds.
S3_BREAKER_RESET_S = 5.0
#: How often the prober looks at an open breaker, seconds.
S3_PROBE_INTERVAL_S = 0.5
#: Pause between attempts to create a bucket while S3 is unreachable, seconds.
BUCKET_RETRY_S = 1.0
#: Concurrent blocking S3 calls per process (threads, and pooled connections).
S3_MAX_CONCURRENCY = 32
#: How deep `is_refused` looks into an exception's causes.
MAX_CAUSES = 8
#: S3 error codes that mean "try again", whatever the HTTP status.
TRANSIENT_S3_CODES = frozenset(
    {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "OperationAborted"}
)

S3_BREAKER_OPEN = Gauge(
    "minio_circuit_breaker_open", "1 while the S3 circuit breaker refuses calls", ["service"]
)
S3_BREAKER_TRANSITIONS = Counter(
    "minio_circuit_breaker_transitions_total",
    "S3 circuit breaker state changes",
    ["service", "from_state", "to_state"],
)
S3_REQUEST_DURATION = Histogram(
    "s3_request_duration_seconds",
    "Duration of one S3 attempt",
    ["service", "operation", "outcome"],
    buckets=LATENCY_BUCKETS_S,
)
S3_RETRIES = Counter(
    "s3_retries_total", "S3 attempts repeated after a transient error", ["service", "operation"]
)
S3_REJECTED = Counter(
    "s3_rejected_total", "S3 calls refused at once by the open breaker", ["service", "operation"]
)


@dataclass(frozen=True)
class S3Policy:
    """The resilience policy; the defaults are the module constants."""

    connect_timeout_s: float = S3_CONNECT_TIMEOUT_S
    read_timeout_s: float = S3_READ_TIMEOUT_S
    max_attempts: int = S3_MAX_ATTEMPTS
    retry_budget_s: float = S3_RETRY_BUDGET_S
    backoff_initial_s: float = S3_BACKOFF_INITIAL_S
    backoff_max_s: float = S3_BACKOFF_MAX_S
    backoff_jitter_s: float = S3_BACKOFF_JITTER_S
    breaker_failures: int = S3_BREAKER_FAILURES
    refusals_to_open: int = S3_REFUSALS_TO_OPEN
    breaker_reset_s: float = S3_BREAKER_RESET_S
    probe_interval_s: float = S3_PROBE_INTERVAL_S
    max_concurrency: int = S3_MAX_CONCURRENCY


DEFAULT_S3_POLICY = S3Policy()


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: the request may succeed unchanged."""
    if isinstance(exc, S3Error):
        return exc.code in TRANSIENT_S3_CODES or exc.response.status >= 500
    if isinstance(exc, ServerError):
        return exc.status_code >= 500
    if isinstance(exc, InvalidResponseError):  # a non-XML answer, e.g. from a proxy
        return int(getattr(exc, "_code", 0) or 0) >= 500
    return isinstance(exc, urllib3.exceptions.HTTPError | HTTPException | OSError)


def is_refused(exc: BaseException) -> bool:
    """The connection was refused (urllib3 wraps the OSError as the cause)."""
    seen: BaseException | None = exc
    for _ in range(MAX_CAUSES):
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_missing(exc: BaseException) -> bool:
    return isinstance(exc, S3Error) and exc.code in ("NoSuchKey", "NoSuchObject", "NotFound")


def unavailable(retry_after_s: float | None = None) -> DomainError:
    return DomainError(
        503,
        "storage_unavailable",
        "object storage (S3) is temporarily unavailable; retry later",
        retry_after=retry_after_s,
    )


def minio_client(
    endpoint: str, access_key: str, secret_key: str, policy: S3Policy = DEFAULT_S3_POLICY
) -> Minio:
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=policy.connect_timeout_s, read=policy.read_timeout_s),
        maxsize=policy.max_concurrency,
        retries=False,
    )
    return Minio(
        parts.netloc,
        access_key=access_key,
        secret_key=secret_key,
        secure=parts.scheme == "https",
        region=S3_REGION,
        http_client=http,
    )


def credentials(settings: S3Settings) -> tuple[str, str]:
    access = settings.s3_access_key.get_secret_value() if settings.s3_access_key else ""
    secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else ""
    return access, secret


def public_presigner(settings: S3Settings, public_endpoint: str | None) -> Minio | None:
    """A client that signs URLs for the S3 endpoint clients see, when it is not the one
    the service uses (None: the service's own client signs)."""
    if not public_endpoint:
        return None
    return minio_client(public_endpoint, *credentials(settings))


class ResilientS3:
    def __init__(
        self,
        settings: S3Settings,
        service: str,
        clock: Clock = SYSTEM_CLOCK,
        policy: S3Policy = DEFAULT_S3_POLICY,
    ) -> None:
        self.service = service
        self.policy = policy
        self.clock = clock
        self.client = minio_client(settings.s3_endpoint, *credentials(settings), policy=policy)
        self.breaker = CircuitBreaker(
            policy.breaker_failures, policy.breaker_reset_s, clock, self._transition
        )
        self._executor = ThreadPoolExecutor(policy.max_concurrency, thread_name_prefix="s3")
        self._prober: asyncio.Task[None] | None = None
        self._refusals = 0
        self._probe_bucket: str | None = None
        S3_BREAKER_OPEN.labels(service).set(0)
        publish_periods(
            service,
            {"s3_breaker_reset": policy.breaker_reset_s, "s3_probe": S3_PROBE_INTERVAL_S},
        )

    # -- lifecycle ---------------------------------------------------------
    def start_prober(self, bucket: str) -> None:
        """Probe S3 (HEAD `bucket`) whenever the breaker is due for a trial."""
        self._probe_bucket = bucket
        self._prober = asyncio.create_task(self._probe_loop(), name=f"s3-prober-{self.service}")

    async def close(self) -> None:
        await stop(self._prober)
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _probe_loop(self) -> None:
        assert self._probe_bucket is not None
        bucket = self._probe_bucket
        while True:
            await asyncio.sleep(self.policy.probe_interval_s)
            if self.breaker.state is BreakerState.CLOSED or self.breaker.is_open:
                continue
            with contextlib.suppress(DomainError):
                await self.call("probe", lambda: self.client.bucket_exists(bucket), retry=False)

    # -- calls -------------------------------------------------------------
    def check_available(self, operation: str = "check") -> None:
        """Raise the 503 at once while the breaker refuses calls."""
        if self.breaker.is_open:
            S3_REJECTED.labels(self.service, operation).inc()
            raise unavailable(self.breaker.retry_after_s())

    async def call(self, operation: str, fn: Callable[[], T], *, retry: bool = True) -> T:
        """Run `fn` (blocking minio work) under the policy; see the module docstring.

        Transient failures that outlast the retries become a 503 DomainError;
        permanent S3 errors and the caller's own exceptions propagate unchanged.
        Pass retry=False for work that cannot be repeated (a consumed stream).
        """
        try:
            self.breaker.before_call()
        except BreakerOpen as exc:
            S3_REJECTED.labels(self.service, operation).inc()
            raise unavailable(exc.retry_after_s) from exc
        try:
            result = await self._attempts(operation, fn, retry)
        except Exception as exc:
            if not is_transient(exc):
                self.breaker.record_success()  # S3 answered; the answer is the caller's business
                raise
            self.breaker.record_failure()
            log.warning("s3 operation failed", extra={"operation": operation, "error": repr(exc)})
            raise unavailable() from exc
        except BaseException:  # cancelled: no verdict on S3
            self.breaker.record_abandoned()
            raise
        self.breaker.record_success()
        return result

    async def _attempts(self, operation: str, fn: Callable[[], T], retry: bool) -> T:
        policy = self.policy
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.max_attempts if retry else 1)
            | stop_after_delay(policy.retry_budget_s)
            | self._stop_once_open,
            wait=wait_exponential(multiplier=policy.backoff_initial_s, max=policy.backoff_max_s)
            + wait_random(0, policy.backoff_jitter_s),
            retry=retry_if_exception(is_transient),
            before_sleep=lambda state: self._retrying(operation, state),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self.run_blocking(operation, fn)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _stop_once_open(self, state: RetryCallState) -> bool:
        """No further attempt once the breaker opened (another caller saw S3 down)."""
        return self.breaker.state is not BreakerState.CLOSED

    async def run_blocking(self, operation: str, fn: Callable[[], T]) -> T:
        """One attempt on the S3 thread pool, timed (no retry; refusals counted)."""
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._executor, fn)
            outcome = "ok"
            self._refusals = 0
            return result
        except Exception as exc:
            outcome = "transient" if is_transient(exc) else "permanent"
            self._count_refusal(exc)
            raise
        finally:
            S3_REQUEST_DURATION.labels(self.service, operation, outcome).observe(
                time.perf_counter() - started
            )

    def _count_refusal(self, exc: BaseException) -> None:
        if not is_refused(exc):
            self._refusals = 0  # S3 (or something on its way) accepted the connection
            return
        self._refusals += 1
        if self._refusals >= self.policy.refusals_to_open:
            self._refusals = 0
            self.breaker.trip()

    def _retrying(self, operation: str, state: RetryCallState) -> None:
        S3_RETRIES.labels(self.service, operation).inc()
        error = state.outcome.exception() if state.outcome else None
        log.info(
            "s3 retry",
            extra={"operation": operation, "attempt": state.attempt_number, "error": repr(error)},
        )

    def _transition(self, previous: BreakerState, state: BreakerState) -> None:
        S3_BREAKER_TRANSITIONS.labels(self.service, str(previous), str(state)).inc()
        S3_BREAKER_OPEN.labels(self.service).set(0 if state is BreakerState.CLOSED else 1)
        log.warning("s3 circuit breaker %s → %s", previous, state)

    # -- common operations -------------------------------------------------
    async def ensure_bucket(self, bucket: str) -> None:
        def work() -> None:
            if not self.client.bucket_exists(bucket):
                with contextlib.suppress(S3Error):  # created meanwhile by another instance
                    self.client.make_bucket(bucket)

        await self.call("ensure_bucket", work)

    async def ensure_bucket_eventually(self, bucket: str) -> None:
        """Create the bucket as soon as S3 answers (a service starts with S3 down, too)."""
        while True:
            try:
                await self.ensure_bucket(bucket)
                return
            except DomainError as exc:
                log.warning("bucket not ready", extra={"bucket": bucket, "error": exc.code})
            await asyncio.sleep(BUCKET_RETRY_S)

    async def get_object(
        self, operation: str, bucket: str, key: str, missing: Callable[[], DomainError]
    ) -> BaseHTTPResponse:
        """Open an object to read (release the response after); `missing()` is raised
        when there is no such object."""

        def work() -> BaseHTTPResponse:
            try:
                return self.client.get_object(bucket, key)
            except S3Error as exc:
                if is_missing(exc):
                    raise missing() from exc
                raise

        return await self.call(operation, work)

    async def remove(self, bucket: str, key: str) -> None:
        """Delete an object; deleting a missing one is not an error."""
        await self.call("remove_object", lambda: self.client.remove_object(bucket, key))

    def presign(
        self, method: str, bucket: str, key: str, ttl_s: float, client: Minio | None = None
    ) -> str:
        """A SigV4 presigned URL, valid `ttl_s` from the clock's now; no S3 round trip."""
        signer = client or self.client
        return signer.get_presigned_url(
            method,
            bucket,
            key,
            expires=timedelta(seconds=ttl_s),
            request_date=datetime.fromtimestamp(self.clock.now(), UTC),
        )


def s3_dependency(s3: ResilientS3, bucket: str, name: str = "s3") -> Dependency:
    """Degraded while the breaker is open or S3 does not answer; never fails readiness,
    since the service still serves what does not need S3 (and answers the rest with 503)."""

    async def check() -> DependencyState:
        if s3.breaker.state is not BreakerState.CLOSED:
            return DependencyState.DEGRADED
        try:
            await s3.run_blocking("ready_probe", lambda: s3.client.bucket_exists(bucket))
        except Exception:  # whatever the reason, S3 is not serving us right now
            return DependencyState.DEGRADED
        return DependencyState.OK

    return Dependency(name, check, required=False)
