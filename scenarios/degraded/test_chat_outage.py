"""Hypothesis: chat loses nothing acknowledged when Redis is cut and PostgreSQL is sick.

Steady state: a message acknowledged with 201 is in history exactly once.
Faults: Redis cut; PostgreSQL with latency and connection resets.
Expectations: every acknowledged message is in history exactly once (clients
retry on the same client_msg_id, also on two connections at once), the faults
failed some writes (else the check is unknown; they hold until they failed enough
message sends, not only the votes and reactions that keep the pool busy), and
presence set while Redis was away is what another instance reads once Redis is back.
"""

from __future__ import annotations

import contextlib
import time

from harness import (
    ApiClient,
    Chat,
    CheckError,
    EventListener,
    EvidenceLog,
    FaultInjector,
    Platform,
    Session,
    check,
    eventually,
    metric_sample,
    policy_period,
    require_components,
)
from harness.checks import History, recovery, workloads, workloads_chat, writes

PG_LATENCY_MS = 50
PG_RESET_TOXICITY = 0.2
RECOVERY_DEADLINE_S = 15.0
#: Rounds of concurrent duplicate sends at most, and how long the faults hold at most.
MAX_ROUNDS = 12
HOLD_S = 10.0
#: Message sends that failed or were unknown that end the window early.
ENOUGH_TROUBLE = 8
#: The chat service renews every local user's presence in Redis on its own cycle (the
#: period it publishes as policy_period_seconds{period="presence_refresh"}): a renewal
#: publishes what a missing write-back lost, so a check that waits long enough for one
#: passes a broken recovery. A deadline shorter than the period is not enough: any
#: renewal inside the deadline hides the defect (15 s of 20: 3 runs in 4). The write-back
#: runs as the recovery flips the gauge back, so presence is readable at once; the
#: deadline only absorbs request latency, and a renewal that still lands in it is
#: recognised by its last_seen and judged unknown (recovery.written_back).
PRESENCE_WRITTEN_BACK_WITHIN_S = 1.0
#: The deadline is at most this share of the renewal period, or the check cannot judge.
MAX_SHARE_OF_REFRESH = 0.1
FAST_POLL_S = 0.05


@check(
    "DEG-006",
    "Nothing acknowledged is lost: messages under a Redis cut and a sick database",
    category="degraded",
    severity="BLOCKER",
    finding="Redis degraded mode; chat send/retrieve must not lose acknowledged writes",
    fix="Commit before acknowledging; make sends idempotent on client_msg_id.",
    impact="Messages the app showed as sent disappear after a Redis or database incident.",
)
def test_no_acknowledged_message_is_lost(
    stack: Platform,
    faults: FaultInjector,
    api: ApiClient,
    gateway_url: str,
    history: History,
    evidence: EvidenceLog,
) -> None:
    require_components(stack.names(), "chat")
    team = workloads.new_team(api, gateway_url, writes.Recorder(history))
    # Votes and reactions beside the messages: enough concurrency that the database pool
    # opens connections, which are the ones the toxics reach.
    messages = [workloads_chat.Messages(), workloads_chat.Ballots(), workloads_chat.Reactions()]
    for workload in messages:
        workload.prepare(team)
    chat = stack.endpoint(sorted(n for n in stack.names() if n.startswith("chat"))[0]).url or ""
    degraded_seen: list[bool] = []
    sends_troubled: list[int] = [0]

    def touched(_trouble: int) -> bool:
        degraded_seen.append(_degraded(chat) == 1)
        sends_troubled.append(team.recorder.trouble_of(workloads_chat.SEND))
        return sends_troubled[-1] >= ENOUGH_TROUBLE and any(degraded_seen)

    with contextlib.ExitStack() as sick:
        sick.enter_context(faults.cut("redis"))
        redis_window = faults.windows[-1]
        sick.enter_context(faults.latency("postgres", ms=PG_LATENCY_MS))
        resets = faults.flaky("postgres", toxicity=PG_RESET_TOXICITY)
        trouble = workloads.through_fault(team, messages, resets, touched, HOLD_S, MAX_ROUNDS)
    redis_window.observe("checks that saw chat degraded", sum(degraded_seen))
    # The database's latency and resets are proven by the writes they failed or left unknown.
    for window in faults.windows[1:]:
        window.observe("writes failed or unknown", trouble)
        window.observe("message sends among them", sends_troubled[-1])
    faults.require_proof(evidence)
    workloads.judge(team, messages, evidence)


def _degraded(url: str) -> float:
    return metric_sample(url, "redis_degraded_mode")


def _online(direct: ApiClient, user: Session) -> dict | None:
    answer = Chat(direct, user).presence(user.user_id)
    if answer.status_code == 200 and answer.json()["status"] == "online":
        return answer.json()
    return None


@check(
    "DEG-007",
    "Presence set while Redis was down is written back for every instance",
    category="degraded",
    severity="MEDIUM",
    finding="MEDIUM-13: chat presence not recovered after Redis returns",
    fix="Keep presence in memory while degraded; write it back on recovery.",
    impact="After a Redis outage people show as offline while they are online, until they "
    "reconnect.",
)
def test_presence_is_written_back(
    stack: Platform, faults: FaultInjector, api: ApiClient, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "chat")
    instances = sorted(n for n in stack.names() if n.startswith("chat"))
    holder, reader = instances[0], instances[-1]
    holder_url, reader_url = stack.endpoint(holder).url or "", stack.endpoint(reader).url or ""
    refresh_s = policy_period(reader_url, "presence_refresh")
    evidence.number("presence renewal period (the product's)", refresh_s, "s")
    if PRESENCE_WRITTEN_BACK_WITHIN_S > MAX_SHARE_OF_REFRESH * refresh_s:
        raise CheckError(f"a {refresh_s} s renewal would hide a broken write-back")
    alice: Session = api.new_session()
    with faults.cut("redis"):
        eventually(lambda: _degraded(holder_url) == 1, RECOVERY_DEADLINE_S, what="degraded")
        listener = EventListener(holder_url, alice.access_token)
    try:
        eventually(
            lambda: _degraded(holder_url) == 0, RECOVERY_DEADLINE_S, FAST_POLL_S, "recovered"
        )
        recovered_at = time.time()
        eventually(lambda: _degraded(reader_url) == 0, RECOVERY_DEADLINE_S, what=f"{reader} up")
        with ApiClient(reader_url) as direct:
            presence = eventually(
                lambda: _online(direct, alice),
                PRESENCE_WRITTEN_BACK_WITHIN_S,
                FAST_POLL_S,
                f"{reader} seeing alice online",
            )
        evidence.note(f"presence read on {reader}", str(presence))
        recovery.written_back(presence, recovered_at, evidence)
    finally:
        listener.close()
    evidence.note("socket held by / presence read from", f"{holder} / {reader}")
