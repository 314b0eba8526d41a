"""Bounded answers: a request must end, with an expected status, within a budget; and
whether a socket through the gateway reaches a live chat instance."""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import dataclass

import httpx
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from harness.checks.evidence import EvidenceLog

#: How long past the budget the harness waits before calling it a hang.
HANG_FACTOR = 3.0


@dataclass(frozen=True)
class TimedAnswer:
    """A request's answer (None: none before the hang deadline) and how long it took."""

    label: str
    response: httpx.Response | None
    elapsed_s: float


def timed_request(
    label: str, method: str, url: str, budget_s: float, evidence: EvidenceLog, **kwargs: object
) -> TimedAnswer:
    """Send the request, waiting HANG_FACTOR × the budget at most; judge nothing yet."""
    started = time.monotonic()
    try:
        response: httpx.Response | None = httpx.request(
            method,
            url,
            timeout=budget_s * HANG_FACTOR,
            **kwargs,  # type: ignore[arg-type]
        )
    except httpx.TimeoutException:
        response = None
    elapsed = time.monotonic() - started
    evidence.number(f"{label}: answered after", elapsed, "s")
    if response is not None:
        evidence.http(label, response)
    return TimedAnswer(label, response, elapsed)


def answers_within(
    label: str,
    method: str,
    url: str,
    budget_s: float,
    statuses: Collection[int],
    evidence: EvidenceLog,
    slack: float = 1.10,
    **kwargs: object,
) -> httpx.Response | None:
    """Assert the request ends with one of `statuses` within budget × slack."""
    answer = timed_request(label, method, url, budget_s, evidence, **kwargs)
    return assert_answered(answer, budget_s, statuses, slack)


def assert_answered(
    answer: TimedAnswer, budget_s: float, statuses: Collection[int], slack: float = 1.10
) -> httpx.Response:
    """The answer came within budget × slack, with one of `statuses`."""
    label, response, elapsed = answer.label, answer.response, answer.elapsed_s
    if response is None:
        raise AssertionError(f"{label}: no answer within {budget_s * HANG_FACTOR:.0f}s (a hang)")
    assert response.status_code in statuses, (
        f"{label}: answered {response.status_code}, expected one of {sorted(statuses)}"
    )
    assert elapsed <= budget_s * slack, f"{label}: took {elapsed:.1f}s, budget {budget_s:.1f}s"
    return response


def chat_socket_answers(gateway_url: str, access_token: str, deadline_s: float) -> str:
    """Open `/ws` through the gateway and ping the chat instance behind it: "pong" when
    it answered, else what the socket did (a close's code, a refusal, silence)."""
    url = gateway_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/ws"
    headers = {"Authorization": f"Bearer {access_token}"}
    try:
        with connect(url, additional_headers=headers, open_timeout=deadline_s) as socket:
            socket.send(json.dumps({"type": "ping"}))
            seen = [json.loads(socket.recv(timeout=deadline_s)).get("type")]
            if seen[0] != "pong":  # chat says "ready" first
                seen.append(json.loads(socket.recv(timeout=deadline_s)).get("type"))
            return "pong" if "pong" in seen else f"frames {seen}"
    except InvalidStatus as exc:
        return f"refused {exc.response.status_code}"
    except ConnectionClosed as exc:
        return f"closed {exc.rcvd.code if exc.rcvd is not None else 'without a code'}"
    except TimeoutError:
        return "silent"
