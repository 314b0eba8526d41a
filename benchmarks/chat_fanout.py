"""Chat fan-out: latency from send to delivery, and sustained messages per second.

    .venv/bin/python benchmarks/chat_fanout.py [--rate 100] [--seconds 20]
        [--clients 200] [--conversations 20] [--senders 16] [--saturate-seconds 10]
        [--warmup-seconds 10] [--direct-sockets]

Starts a lean local stack with the harness (PostgreSQL with TLS, Redis,
Toxiproxy in front of both, auth, chat-1, chat-2, gateway), creates
--clients users in --conversations group conversations and opens one
WebSocket per user, through the gateway (which spreads them over both chat
instances, so most deliveries cross instances over Redis pub/sub).

After a warm-up (--warmup-seconds at --rate, not reported), phase 1,
latency: messages are sent open loop at --rate per second for --seconds,
each by a random member of a random conversation, through the gateway.
Every client pings every 20 s, as the apps do, so no socket is closed as idle.
Fan-out latency is measured per delivered copy, from just before the POST
to the `message.new` frame read on a recipient's socket (all members, the
sender included, so 10 copies per message with the defaults).
Phase 2, throughput: --senders senders post back to back for
--saturate-seconds; the sustained rate is acknowledged messages per second
with every copy delivered.

Users are inserted straight into PostgreSQL and given access tokens signed
with the stack's key: registration is argon2-bound, and not what this
measures. Each simulated client sends from its own loopback address, as
distinct clients would, so the gateway's per-address limit does not cap
the load. Target: p99 <= 150 ms at 100 messages/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import ssl
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import asyncpg
import httpx
import psutil
from secureconnect.common.tokens import TokenCodec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from harness.platform.local import LocalPlatform, default_components

P99_TARGET_MS = 150.0
TARGET_RATE = 100.0
#: After the last send, how long copies may still arrive before they count as lost.
DRAIN_DEADLINE_S = 10.0
#: Transactions timed to measure the database's own commit latency.
FLOOR_SAMPLES = 200
#: Seconds between a client's pings, well inside chat's 60 s idle limit.
HEARTBEAT_S = 20.0
#: Loopback addresses the simulated clients send from (127.0.1.1 ...).
CLIENT_ADDRESSES = 50
#: Message numbers (client_msg_id "bench-<n>") of the warm-up and of phase 2; phase 1 starts at 0.
WARMUP_INDEX = 10**7
SATURATION_INDEX = 10**8
MEASURED_COMPONENTS = ("gateway", "chat-1", "chat-2", "auth", "postgres", "redis", "toxiproxy")


@dataclass
class Run:
    """Send times by message index, and what arrived."""

    send_at: dict[int, float] = field(default_factory=dict)
    ack_ms: list[float] = field(default_factory=list)
    fanout_ms: list[float] = field(default_factory=list)
    failed: int = 0
    expected_copies: int = 0
    #: Set once sending is over and every expected copy arrived.
    complete: asyncio.Event = field(default_factory=asyncio.Event)
    sending_over: bool = False

    def delivered(self, index: int, at: float) -> None:
        sent = self.send_at.get(index)
        if sent is not None:
            self.fanout_ms.append((at - sent) * 1000)
            self.check()

    def check(self) -> None:
        if self.sending_over and len(self.fanout_ms) >= self.expected_copies:
            self.complete.set()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class HttpClient:
    """A minimal keep-alive HTTP/1.1 client from a chosen source address: little CPU
    in the load generator, which shares the two cores with the whole stack."""

    def __init__(self, url: str, source: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.source = source
        self.lock = asyncio.Lock()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, token: str, body: dict) -> tuple[int, bytes]:
        data = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        async with self.lock:
            for attempt in range(2):  # an idle keep-alive connection may have been closed
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(
                        self.host, self.port, local_addr=(self.source, 0)
                    )
                assert self.reader is not None
                self.writer.write(head.encode() + data)
                status_line = await self.reader.readline()
                if status_line or attempt:
                    return await self._rest_of_answer(status_line)
                self.close()
        raise AssertionError("unreachable")

    async def _rest_of_answer(self, status_line: bytes) -> tuple[int, bytes]:
        assert self.reader is not None
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            close |= name.strip().lower() == b"connection" and b"close" in value.lower()
        answer = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass(frozen=True)
class Member:
    user_id: str
    token: str
    conversation: str = ""


async def connect_postgres(stack: LocalPlatform) -> asyncpg.Connection:
    """Straight to PostgreSQL (not through Toxiproxy), as the services' user, over TLS."""
    host, port = str(stack.endpoint("postgres").address).rsplit(":", 1)
    return await asyncpg.connect(
        host=host,
        port=int(port),
        user="secureconnect",
        database="secureconnect",
        password=stack.secret("db_password"),
        ssl=ssl.create_default_context(cafile=str(stack.ca_certificate())),
    )


async def database_floor(stack: LocalPlatform) -> str:
    """This machine's PostgreSQL beside the run: a round trip, and a one-row write's
    commit (WAL flushed to disk). No send can be faster than one commit: a slow disk
    shows here, apart from the code."""
    connection = await connect_postgres(stack)
    trips, commits = [], []
    try:
        await connection.execute("CREATE TABLE IF NOT EXISTS bench_commit (n int)")
        for n in range(FLOOR_SAMPLES):
            started = time.perf_counter()
            await connection.fetchval("SELECT 1")
            trips.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await connection.execute("INSERT INTO bench_commit VALUES ($1)", n)
            commits.append((time.perf_counter() - started) * 1000)
        await connection.execute("DROP TABLE bench_commit")
        fsync = await connection.fetchval("SHOW fsync")
    finally:
        await connection.close()
    return (
        f"PostgreSQL beside the run (direct, TLS): round trip p50 {pct(trips, 0.5):.2f} ms; "
        f"one-row commit p50 {pct(commits, 0.5):.2f} ms, p99 {pct(commits, 0.99):.2f} ms "
        f"(fsync {fsync}: the local stack trades power-loss safety for speed)"
    )


async def create_users(stack: LocalPlatform, count: int) -> list[Member]:
    connection = await connect_postgres(stack)
    ids = [uuid.uuid4() for _ in range(count)]
    try:
        await connection.executemany(
            "INSERT INTO users (id, email, display_name, password_hash, email_verified) "
            "VALUES ($1, $2, 'bench', 'not-a-password', true)",
            [(i, f"bench-{i.hex}@example.com") for i in ids],
        )
    finally:
        await connection.close()
    codec = TokenCodec(stack.secret("jwt_secret"))
    return [Member(str(i), codec.issue_access(str(i), uuid.uuid4().hex)[0]) for i in ids]


async def create_conversations(
    gateway: str, users: list[Member], conversations: int
) -> list[list[Member]]:
    size = len(users) // conversations
    groups = []
    client = HttpClient(gateway, "127.0.0.1")
    for index in range(conversations):
        members = users[index * size : (index + 1) * size]
        body = {"type": "group", "title": f"bench {index}", "participant_ids": []}
        body["participant_ids"] = [m.user_id for m in members[1:]]
        status, answer = await client.post("/api/v1/conversations", members[0].token, body)
        assert status == 201, answer
        conversation = json.loads(answer)["conversation_id"]
        groups.append([Member(m.user_id, m.token, conversation) for m in members])
    client.close()
    return groups


#: Close codes of sockets the server ended during the run (a slow client is dropped: 4429).
CLOSED_BY_SERVER: dict[int, int] = {}


async def listen(socket: ClientConnection, run_of: list[Run]) -> None:
    try:
        async for raw in socket:
            at = time.perf_counter()
            event = json.loads(raw)
            if event["type"] == "message.new":
                prefix, _, index = event["data"]["client_msg_id"].partition("-")
                if prefix == "bench" and index.isdigit():
                    run_of[0].delivered(int(index), at)
    except ConnectionClosed:
        pass
    code = socket.close_code or 1006
    CLOSED_BY_SERVER[code] = CLOSED_BY_SERVER.get(code, 0) + 1


async def heartbeat(socket: ClientConnection) -> None:
    """Ping as the apps do, so no socket is closed as idle (chat drops one silent for 60 s)
    during a long set-up or a run: every copy of every message is then accounted for."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            await socket.send(json.dumps({"type": "ping"}))


async def open_sockets(
    bases: list[str], members: list[Member], run_of: list[Run]
) -> tuple[list[ClientConnection], list[asyncio.Task[None]], dict[str, int]]:
    sockets: list[ClientConnection] = []
    instances: dict[str, int] = {}
    for index, member in enumerate(members):
        base = bases[index % len(bases)].replace("http://", "ws://", 1)
        socket = await connect(f"{base}/ws?token={member.token}", open_timeout=10, max_queue=None)
        instance = json.loads(await socket.recv())["data"]["instance_id"]
        instances[instance] = instances.get(instance, 0) + 1
        sockets.append(socket)
    tasks = [asyncio.create_task(listen(s, run_of)) for s in sockets]
    tasks += [asyncio.create_task(heartbeat(s)) for s in sockets]
    return sockets, tasks, instances


async def send_one(run: Run, index: int, client: HttpClient, sender: Member, copies: int) -> None:
    body = {"content": f"benchmark message {index}", "client_msg_id": f"bench-{index}"}
    path = f"/api/v1/conversations/{sender.conversation}/messages"
    run.send_at[index] = started = time.perf_counter()
    try:
        status, _ = await client.post(path, sender.token, body)
    except (OSError, IndexError, ValueError, asyncio.IncompleteReadError):
        client.close()
        status = 0
    if status == 201:
        run.ack_ms.append((time.perf_counter() - started) * 1000)
        run.expected_copies += copies
    else:
        run.failed += 1


async def drain(run: Run) -> None:
    """Wait for the copies still in flight, up to DRAIN_DEADLINE_S (the rest are lost)."""
    run.sending_over = True
    run.check()
    try:
        async with asyncio.timeout(DRAIN_DEADLINE_S):
            await run.complete.wait()
    except TimeoutError:
        pass


async def open_loop(
    run: Run,
    groups: list[list[Member]],
    clients: list[HttpClient],
    rate: float,
    seconds: float,
    first_index: int = 0,
) -> float:
    """Send at `rate` for `seconds`; returns the time spent sending."""
    rng = random.Random(1)
    tasks, started = [], time.perf_counter()
    for index in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))  # pacing
        group = rng.choice(groups)
        sender = rng.choice(group)
        client = clients[hash(sender.user_id) % len(clients)]
        message = first_index + index
        tasks.append(asyncio.create_task(send_one(run, message, client, sender, len(group))))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    await drain(run)
    return elapsed


async def closed_loop(
    run: Run, groups: list[list[Member]], clients: list[HttpClient], senders: int, seconds: float
) -> float:
    """`senders` back to back for `seconds`; returns the time spent sending."""
    rng = random.Random(2)
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def sender_loop(client: HttpClient) -> None:
        while time.perf_counter() < deadline:
            group = rng.choice(groups)
            index = SATURATION_INDEX + next(counter)
            await send_one(run, index, client, rng.choice(group), len(group))

    started = time.perf_counter()
    await asyncio.gather(*(sender_loop(clients[i % len(clients)]) for i in range(senders)))
    elapsed = time.perf_counter() - started
    await drain(run)
    return elapsed


def cpu_of(stack: LocalPlatform) -> dict[str, psutil.Process]:
    found = {"all (stack + this load generator)": psutil.Process()}
    for name in MEASURED_COMPONENTS:
        pid = stack.endpoint(name).pid
        if pid is not None:
            found[name] = psutil.Process(pid)
    return found


def cpu_seconds(process: psutil.Process) -> float:
    """The process and its children, live (PostgreSQL's backends) or exited and reaped."""
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def cpu_percent(processes: dict[str, psutil.Process], seconds: float, before: dict) -> str:
    parts = []
    for name, process in processes.items():
        used = cpu_seconds(process) - before[name]
        parts.append(f"{name} {used / seconds * 100:.0f}%")
    return ", ".join(parts)


SERVER_TIMINGS = (
    ("gateway", "http_request_duration_seconds", 'method="POST",route="/api/v1/conversations/'),
    ("chat", "http_request_duration_seconds", 'route="/api/v1/conversations/{conversation_id}/m'),
    ("chat", "db_query_duration_seconds", 'operation="message_send"'),
    ("chat", "chat_fanout_latency_seconds", 'path="local"'),
    ("chat", "chat_fanout_latency_seconds", 'path="remote"'),
)


def scrape(stack: LocalPlatform) -> dict[str, str]:
    names = ("gateway", "chat-1", "chat-2")
    with httpx.Client(timeout=5) as client:
        return {n: client.get(f"{stack.endpoint(n).url}/metrics").text for n in names}


def sum_and_count(text: str, metric: str, selector: str) -> tuple[float, float]:
    total = count = 0.0
    for line in text.splitlines():
        if selector in line and line.startswith((f"{metric}_sum", f"{metric}_count")):
            value = float(line.rsplit(" ", 1)[1])
            if line.startswith(f"{metric}_sum"):
                total += value
            else:
                count += value
    return total, count


def server_means(before: dict[str, str], after: dict[str, str]) -> str:
    """Mean server-side durations over the phase, from the services' own histograms."""
    parts = []
    for service, metric, selector in SERVER_TIMINGS:
        total = count = 0.0
        for name in after:
            if not name.startswith(service):
                continue
            t1, c1 = sum_and_count(after[name], metric, selector)
            t0, c0 = sum_and_count(before[name], metric, selector)
            total, count = total + t1 - t0, count + c1 - c0
        label = f"{service} {metric.removesuffix('_seconds')}{{{selector.split('=')[-1]}}}"
        parts.append(f"{label} {total / count * 1000:.1f} ms" if count else f"{label} -")
    return "; ".join(parts)


def report(title: str, run: Run, seconds: float) -> None:
    delivered = len(run.fanout_ms)
    print(f"\n{title}")
    print(
        f"  sent {len(run.ack_ms)} acknowledged ({run.failed} failed) in {seconds:.1f} s "
        f"= {len(run.ack_ms) / seconds:.1f} messages/s; {delivered / seconds:.0f} deliveries/s"
    )
    ack_p50, ack_p99 = pct(run.ack_ms, 0.5), pct(run.ack_ms, 0.99)
    print(f"  ack (POST) latency   p50 {ack_p50:6.1f} ms  p99 {ack_p99:6.1f} ms")
    print(
        f"  fan-out send→socket  p50 {pct(run.fanout_ms, 0.5):6.1f} ms  "
        f"p90 {pct(run.fanout_ms, 0.9):6.1f} ms  p99 {pct(run.fanout_ms, 0.99):6.1f} ms  "
        f"max {max(run.fanout_ms, default=float('nan')):6.1f} ms"
    )
    print(f"  copies delivered {delivered}/{run.expected_copies}")
    if CLOSED_BY_SERVER:
        print(f"  sockets closed by the server so far (code: count): {CLOSED_BY_SERVER}")


@dataclass
class Setup:
    groups: list[list[Member]]
    clients: list[HttpClient]
    sockets: list[ClientConnection]
    listeners: list[asyncio.Task[None]]
    run_of: list[Run]
    processes: dict[str, psutil.Process]

    async def close(self) -> None:
        for task in self.listeners:
            task.cancel()
        for socket in self.sockets:
            await socket.close()
        for client in self.clients:
            client.close()


async def set_up(stack: LocalPlatform, args: argparse.Namespace) -> Setup:
    gateway = str(stack.endpoint("gateway").url)
    users = await create_users(stack, args.clients)
    groups = await create_conversations(gateway, users, args.conversations)
    members = [m for group in groups for m in group]
    instances = [str(stack.endpoint(n).url) for n in ("chat-1", "chat-2")]
    run_of = [Run()]
    sockets, listeners, spread = await open_sockets(
        instances if args.direct_sockets else [gateway], members, run_of
    )
    print(f"{len(sockets)} sockets open in {len(groups)} conversations; per instance: {spread}")
    load = os.getloadavg()[0]
    print(f"machine: {psutil.cpu_count()} cores, load average {load:.1f} before the run")
    print(await database_floor(stack))
    clients = [HttpClient(gateway, f"127.0.1.{i + 1}") for i in range(CLIENT_ADDRESSES)]
    return Setup(groups, clients, sockets, listeners, run_of, cpu_of(stack))


async def phase(stack: LocalPlatform, setup: Setup, title: str, load: Callable) -> Run:
    """Run one load shape with fresh counters, and report it with CPU and server means."""
    before = {n: cpu_seconds(p) for n, p in setup.processes.items()}
    metrics = scrape(stack)
    setup.run_of[0] = run = Run()
    started = time.perf_counter()
    sending_s = await load(run)
    report(title, run, sending_s)
    print(f"  CPU: {cpu_percent(setup.processes, time.perf_counter() - started, before)}")
    print(f"  server means: {server_means(metrics, scrape(stack))}")
    return run


async def bench(stack: LocalPlatform, args: argparse.Namespace) -> bool:
    setup = await set_up(stack, args)
    groups, clients = setup.groups, setup.clients
    # Warm-up, not reported: pools open their connections, statements get prepared.
    await open_loop(setup.run_of[0], groups, clients, args.rate, args.warmup_seconds, WARMUP_INDEX)
    latency = await phase(
        stack,
        setup,
        f"Phase 1: open loop at {args.rate:g} messages/s for {args.seconds:g} s",
        lambda run: open_loop(run, groups, clients, args.rate, args.seconds),
    )
    await phase(
        stack,
        setup,
        f"Phase 2: {args.senders} senders back to back for {args.saturate_seconds:g} s",
        lambda run: closed_loop(run, groups, clients, args.senders, args.saturate_seconds),
    )
    await setup.close()
    print(f"\nload average {os.getloadavg()[0]:.1f} after the run (other work shares these cores)")
    p99 = pct(latency.fanout_ms, 0.99)
    lost = latency.expected_copies - len(latency.fanout_ms)
    ok = p99 <= P99_TARGET_MS and lost == 0 and latency.failed == 0
    verdict = "PASS" if ok else "FAIL"
    print(f"\nTarget p99 <= {P99_TARGET_MS:g} ms at {args.rate:g} messages/s, none lost: {verdict}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=TARGET_RATE)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--saturate-seconds", type=float, default=10.0)
    parser.add_argument("--warmup-seconds", type=float, default=10.0)
    parser.add_argument(
        "--direct-sockets", action="store_true", help="sockets to chat-1/2, not the gateway"
    )
    args = parser.parse_args()
    stack = LocalPlatform(components=default_components(only=["auth", "chat"]))
    print("starting the stack (PostgreSQL, Redis, Toxiproxy, auth, chat-1, chat-2, gateway)...")
    stack.up()
    try:
        ok = asyncio.run(bench(stack, args))
    finally:
        stack.down()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
