"""S3 misbehaving under the storage service: slow, down, flaky, refusing.

Each test states its steady state, injects one fault through Toxiproxy (or
talks to S3 with wrong credentials), and checks what the service promises:
slow S3 still works within the budget; a dead S3 opens the breaker, storage
answers 503 at once while auth is unharmed, and a half-open probe closes it
when S3 is back; transient errors are retried, permanent ones are not.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from minio.error import S3Error
from prometheus_client import REGISTRY
from secureconnect.common.breaker import BreakerState
from secureconnect.common.errors import DomainError
from secureconnect.common.s3 import (
    S3_BREAKER_RESET_S,
    S3_REFUSALS_TO_OPEN,
    ResilientS3,
    S3Policy,
)
from secureconnect.common.settings import S3Settings

from harness.faults.injector import FaultInjector
from harness.platform.base import Platform
from harness.platform.components.services import GATEWAY_BUDGET_S
from harness.platform.ports import free_port
from tests.helpers import assert_error, eventually
from tests.storage.files import (
    FILES,
    Session,
    component_metric,
    download,
    metric_sum,
    put_object,
    request_upload,
    upload,
)

#: A storage route refusing fast while the breaker is open must answer within this, seconds.
FAST_503_S = 0.2
#: The first requests after S3 went away, which open the breaker, answer within this
#: (LOAD-003's p95 during an S3 cut), seconds.
FAIL_FAST_S = 1.0
LATENCY_MS = 2000


async def breaker_open(stack: Platform) -> float:
    return await component_metric(stack, "storage", "minio_circuit_breaker_open", service="storage")


async def test_uploads_succeed_with_two_seconds_of_s3_latency(
    alice: Session, faults: FaultInjector
) -> None:
    with faults.latency("s3", ms=LATENCY_MS):
        grant = await request_upload(alice, 50_000)
        assert grant.status_code == 201
        data = bytes(range(250)) * 200
        assert (await put_object(grant.json()["upload_url"], data)).status_code == 200
        started = time.monotonic()
        done = await alice.client.post(
            f"{FILES}/{grant.json()['file_id']}/complete", headers=alice.headers
        )
        elapsed = time.monotonic() - started
        assert done.status_code == 200, done.text
        assert LATENCY_MS / 1000 <= elapsed < GATEWAY_BUDGET_S
        started = time.monotonic()
        assert await download(alice, grant.json()["file_id"]) == data
        assert time.monotonic() - started < GATEWAY_BUDGET_S


async def test_s3_down_opens_the_breaker_and_storage_fails_fast(
    alice: Session, stack: Platform, faults: FaultInjector
) -> None:
    stored_id, _ = await upload(alice)
    pending_ids = [(await request_upload(alice, 10)).json()["file_id"] for _ in range(3)]
    opened_before = await metric_sum(
        stack, "storage", "minio_circuit_breaker_transitions_total", to_state="open"
    )
    with faults.cut("s3"):
        # Requests in flight at the cut fail fast too: refused connections open the
        # breaker at once, and operations still retrying stop at their next attempt.
        started = time.monotonic()
        first = await asyncio.gather(
            *(
                alice.client.post(f"{FILES}/{file_id}/complete", headers=alice.headers)
                for file_id in pending_ids
            )
        )
        assert time.monotonic() - started < FAIL_FAST_S
        for answer in first:
            assert_error(answer, 503, "storage_unavailable")
        assert await breaker_open(stack) == 1
        for method, path in (
            ("POST", f"{FILES}/{pending_ids[0]}/complete"),
            ("GET", f"{FILES}/{stored_id}/download-url"),
            ("DELETE", f"{FILES}/{stored_id}"),
        ):
            started = time.monotonic()
            answer = await alice.client.request(method, path, headers=alice.headers)
            assert time.monotonic() - started < FAST_503_S
            assert_error(answer, 503, "storage_unavailable")
            assert int(answer.headers["retry-after"]) >= 1
        started = time.monotonic()
        assert_error(await request_upload(alice, 10), 503, "storage_unavailable")
        assert time.monotonic() - started < FAST_503_S

        # What does not need S3 keeps working: listing, quota, and every auth route.
        assert (await alice.client.get(FILES, headers=alice.headers)).status_code == 200
        assert (await alice.client.get(f"{FILES}/quota", headers=alice.headers)).status_code == 200
        me = await alice.client.get("/api/v1/auth/me", headers=alice.headers)
        assert me.status_code == 200
        ready = (await alice.client.get(f"{stack.endpoint('storage').url}/ready")).json()
        assert ready["status"] == "degraded" and ready["dependencies"]["s3"]["state"] == "degraded"

    async def closed() -> bool:
        return await breaker_open(stack) == 0

    # No request needed: the prober's half-open trial closes the breaker.
    await eventually(closed, S3_BREAKER_RESET_S + 10, "the S3 breaker closes again")
    opened_after = await metric_sum(
        stack, "storage", "minio_circuit_breaker_transitions_total", to_state="open"
    )
    assert opened_after > opened_before
    assert await metric_sum(
        stack, "storage", "minio_circuit_breaker_transitions_total", from_state="half_open"
    )
    file_id, data = await upload(alice)
    assert await download(alice, file_id) == data


async def test_transient_resets_are_retried_and_succeed(
    alice: Session, stack: Platform, faults: FaultInjector
) -> None:
    """Toxiproxy decides per connection, and connections are pooled, so each round adds
    the toxic afresh (re-rolling every connection) until retries have been seen."""
    retries_before = await metric_sum(stack, "storage", "s3_retries_total")
    stored = [await upload(alice) for _ in range(2)]
    for _ in range(5):
        uploads = [(await request_upload(alice, 1000)).json() for _ in range(2)]
        for grant in uploads:  # the client's own PUTs go through the same proxy: before
            assert (await put_object(grant["upload_url"], b"z" * 1000)).status_code == 200
        with faults.flaky("s3", toxicity=0.5):
            completed = await asyncio.gather(
                *(
                    alice.client.post(f"{FILES}/{g['file_id']}/complete", headers=alice.headers)
                    for g in uploads
                )
            )
            fetched = await asyncio.gather(*(download(alice, file_id) for file_id, _ in stored))
        assert [answer.status_code for answer in completed] == [200] * len(uploads)
        assert fetched == [data for _, data in stored]
        if await metric_sum(stack, "storage", "s3_retries_total") > retries_before:
            break
    else:
        pytest.fail("no S3 retry was observed in five rounds of resets")
    assert await breaker_open(stack) == 0


async def test_a_missing_object_is_not_retried(alice: Session, stack: Platform) -> None:
    grant = (await request_upload(alice, 10)).json()
    retries = await metric_sum(stack, "storage", "s3_retries_total", operation="stat_object")
    answer = await alice.client.post(f"{FILES}/{grant['file_id']}/complete", headers=alice.headers)
    assert_error(answer, 409, "upload_missing")
    after = await metric_sum(stack, "storage", "s3_retries_total", operation="stat_object")
    assert after == retries
    assert await breaker_open(stack) == 0


def _client(
    stack: Platform, service: str, *, endpoint: str = "", secret_key: str = ""
) -> ResilientS3:
    settings = S3Settings(
        s3_endpoint=endpoint or f"http://{stack.endpoint('s3').proxy_listen}",
        s3_access_key=stack.secret("s3_access_key"),
        s3_secret_key=secret_key or stack.secret("s3_secret_key"),
    )
    policy = S3Policy(backoff_initial_s=0.01, backoff_max_s=0.05)
    return ResilientS3(settings, service, policy=policy)


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _attempts(service: str, outcome: str) -> float:
    """stat_object attempts of `service` that ended with `outcome`."""
    labels = {"service": service, "operation": "stat_object", "outcome": outcome}
    return _sample("s3_request_duration_seconds_count", **labels)


@pytest.mark.parametrize("refusal", ["forbidden", "missing"])
async def test_permanent_errors_are_answered_once(stack: Platform, refusal: str) -> None:
    service = f"test-permanent-{refusal}"
    wrong = "wrong-secret-key-0000" if refusal == "forbidden" else ""
    s3 = _client(stack, service, secret_key=wrong)
    try:
        with pytest.raises(S3Error) as caught:
            await s3.call("stat_object", lambda: s3.client.stat_object("secureconnect", "nope"))
    finally:
        await s3.close()
    assert caught.value.response.status == (403 if refusal == "forbidden" else 404)
    assert _attempts(service, "permanent") == 1
    assert _sample("s3_retries_total", service=service, operation="stat_object") == 0
    assert not s3.breaker.is_open  # S3 answered: nothing wrong with the connection


async def test_refused_connections_open_the_breaker_at_once(stack: Platform) -> None:
    service = "test-refused"
    s3 = _client(stack, service, endpoint=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    try:
        with pytest.raises(DomainError) as caught:
            await s3.call("stat_object", lambda: s3.client.stat_object("secureconnect", "x"))
        assert s3.breaker.state is BreakerState.OPEN
        with pytest.raises(DomainError):  # refused without an attempt
            await s3.call("stat_object", lambda: s3.client.stat_object("secureconnect", "x"))
    finally:
        await s3.close()
    assert time.monotonic() - started < FAIL_FAST_S
    assert (caught.value.status, caught.value.code) == (503, "storage_unavailable")
    assert _attempts(service, "transient") == S3_REFUSALS_TO_OPEN
    assert _sample("s3_rejected_total", service=service, operation="stat_object") == 1


async def test_resets_are_retried_to_the_limit(stack: Platform, faults: FaultInjector) -> None:
    """A reset may be a flaky link: it never opens the breaker early."""
    service = "test-resets"
    s3 = _client(stack, service)
    try:
        with faults.flaky("s3", toxicity=1.0), pytest.raises(DomainError) as caught:
            await s3.call("stat_object", lambda: s3.client.stat_object("secureconnect", "x"))
    finally:
        await s3.close()
    assert (caught.value.status, caught.value.code) == (503, "storage_unavailable")
    attempts = _attempts(service, "transient")
    assert attempts == s3.policy.max_attempts
    assert _sample("s3_retries_total", service=service, operation="stat_object") == attempts - 1
    assert s3.breaker.state is BreakerState.CLOSED
