"""Writes to the other services for the invariant checks: uploads, revocations, calls."""

from __future__ import annotations

import os

import httpx

from harness.checks.history import OK
from harness.checks.invariants import (
    CALLS,
    COMPLETE,
    END,
    FILES,
    INITIATE,
    JOIN,
    LEAVE,
    RESERVE,
    REVOKE,
    InvariantResult,
    call_state,
    check_calls,
    check_files,
    check_revocations,
    files_state,
)
from harness.checks.library.workloads import Team, at_once, race
from harness.clients.api import ApiClient, Session
from harness.keepalive import LIMITS
from harness.platform.base import Platform

#: Bytes of each uploaded file.
FILE_BYTES = 2048
#: Reservations asked for at once in the quota race, each just over 1/RACE_SHARE of it.
RACERS = 16
RACE_SHARE = 12


class Uploads:
    """One user uploads; each upload is completed on two connections at once. With
    `race_quota`, the first round also asks for RACERS reservations at once, each a
    RACE_SHARE of the quota: no more than fit may be granted."""

    name = "uploads"

    def __init__(self, race_quota: bool = False) -> None:
        self.race_quota = race_quota
        #: Complete attempts storage answered 503: its own S3 call failed or was refused.
        self.completes_unavailable: list[str] = []

    def prepare(self, team: Team) -> None:
        pass

    def round(self, team: Team, number: int) -> None:
        uploads = [lambda n=n: self._upload(team, f"r{number}-{n}") for n in range(2)]
        if self.race_quota and number == 0:
            uploads.append(lambda: self._race(team))
        at_once(*uploads)

    def _race(self, team: Team) -> None:
        """RACERS reservations released together from warm connections, so they overlap."""
        size = team.read("/api/v1/files/quota")["limit_bytes"] // RACE_SHARE + 1
        race(
            team,
            lambda api: api.http.get("/api/v1/files/quota", headers=team.owner.headers),
            [lambda api, n=n: self._reserve(team, f"race-{n}", size, api) for n in range(RACERS)],
        )

    def _reserve(
        self, team: Team, key: str, size: int, api: ApiClient | None = None
    ) -> httpx.Response | None:
        body = {"filename": key, "content_type": "application/octet-stream", "size": size}

        def post(client: ApiClient, s: Session) -> httpx.Response:
            return client.http.post("/api/v1/files/upload-url", json=body, headers=s.headers)

        reserve = team.call(team.owner, post) if api is None else lambda: post(api, team.owner)
        recorder = team.recorder
        outcome, answer = recorder.write(
            recorder.process(),
            RESERVE,
            {"key": key, "size": size},
            reserve,
            lambda r: {"file_id": r.json()["file_id"]},
        )
        return answer if outcome == OK else None

    def _upload(self, team: Team, key: str) -> None:
        answer = self._reserve(team, key, FILE_BYTES)
        if answer is None:
            return
        file_id, url = answer.json()["file_id"], answer.json()["upload_url"]
        data = os.urandom(FILE_BYTES)
        # Completed even when the bytes never got there: that must fail (409), not list a file.
        team.recorder.transfer(lambda: httpx.put(url, content=data, timeout=10))
        value = {"file_id": file_id, "size": FILE_BYTES}
        path = f"/api/v1/files/{file_id}/complete"
        send = team.call(team.owner, lambda api, s: api.http.post(path, headers=s.headers))

        def complete() -> httpx.Response:
            answer = send()
            if answer.status_code == 503:
                self.completes_unavailable.append(file_id)
            return answer

        recorder = team.recorder
        at_once(*[lambda: recorder.write(recorder.process(), COMPLETE, value, complete)] * 2)

    def read(self, team: Team) -> None:
        state = files_state(team.read("/api/v1/files"), team.read("/api/v1/files/quota"))
        team.recorder.history.final_read(state, FILES)

    def check(self, team: Team) -> InvariantResult:
        return check_files(team.recorder.history)


#: A read that needs a valid token on each service, and where it is served.
TOKEN_READS = {
    "auth": "/api/v1/auth/me",
    "chat": "/api/v1/conversations",
    "video": "/api/v1/calls/turn-credentials",
    "storage": "/api/v1/files/quota",
}


def token_services(stack: Platform) -> dict[str, str]:
    """Every instance of a service that takes bearer tokens → its own URL."""
    return {
        name: stack.endpoint(name).url or ""
        for name in stack.names()
        if name.split("-")[0] in TOKEN_READS
    }


class Revocations:
    """A token logged out on two connections at once, then used on every service
    instance (directly and through the gateway) and refreshed; a control token
    that nobody revoked is used too."""

    name = "revocations"

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.sessions: list[Session] = []
        self.control: Session | None = None

    def prepare(self, team: Team) -> None:
        with team.client() as api:
            logins = [api.login(team.owner.email) for _ in range(self.rounds + 1)]
        for login in logins:
            assert login.status_code == 200, f"login answered {login.status_code}"
        self.sessions = [
            Session(
                team.owner.user_id,
                team.owner.email,
                team.owner.password,
                tokens["access_token"],
                tokens["refresh_token"],
            )
            for tokens in (login.json() for login in logins)
        ]
        self.control = self.sessions.pop()

    def round(self, team: Team, number: int) -> None:
        if number >= len(self.sessions):
            return
        session, token = self.sessions[number], f"t{number}"
        recorder = team.recorder
        logout = team.call(session, lambda api, s: api.logout(s))
        at_once(*[lambda: recorder.write(recorder.process(), REVOKE, {"token": token}, logout)] * 2)
        process = recorder.process()
        for where, send in self._reads(team, session):
            recorder.use(process, token, where, send)
        assert self.control is not None
        control = team.call(self.control, lambda api, s: api.me(s.access_token))
        recorder.use(process, "control", "gateway", control)

    def _reads(self, team: Team, session: Session) -> list[tuple[str, object]]:
        reads = []
        for instance, url in sorted(team.services.items()):
            path = TOKEN_READS[instance.split("-")[0]]
            reads.append((instance, _get(url, path, session)))
        reads.append(("gateway", _get(team.gateway_url, TOKEN_READS["auth"], session)))
        refresh = team.call(session, lambda api, s: api.refresh(s.refresh_token))
        reads.append(("refresh", refresh))
        return reads

    def read(self, team: Team) -> None:
        pass  # the uses are the reads

    def check(self, team: Team) -> InvariantResult:
        return check_revocations(team.recorder.history)


def _get(base_url: str, path: str, session: Session):  # type: ignore[no-untyped-def]
    def send() -> httpx.Response:
        with httpx.Client(base_url=base_url, timeout=10, limits=LIMITS) as client:
            return client.get(path, headers=session.headers)

    return send


class Calls:
    """A call per round: one member joins on two connections at once, another joins and
    leaves at once, the third declines; then the call is ended, or everyone in it hangs
    up at once (the last one out ends it: two leaves that miss each other leave a call
    active with nobody in it)."""

    name = "calls"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def prepare(self, team: Team) -> None:
        pass

    def round(self, team: Team, number: int) -> None:
        recorder, owner = team.recorder, team.owner
        body = {"conversation_id": team.conversation, "media": "audio", "mode": "p2p"}
        place = team.call(
            owner, lambda api, s: api.http.post("/api/v1/calls", json=body, headers=s.headers)
        )
        outcome, answer = recorder.write(
            recorder.process(),
            INITIATE,
            {"user": owner.user_id},
            place,
            lambda r: {"call": r.json()["call_id"]},
            attempts=1,
        )
        if outcome != OK or answer is None:
            return
        call = answer.json()["call_id"]
        self.calls.append(call)
        first, second, third = team.members
        at_once(
            lambda: self._move(team, call, first, JOIN),
            lambda: self._move(team, call, first, JOIN),
            lambda: self._move(team, call, second, JOIN),
            lambda: self._move(team, call, second, LEAVE),
            lambda: self._move(team, call, third, LEAVE),
        )
        if number % 2:
            self._move(team, call, owner, END)
        else:
            self._hang_up(team, call, [owner, first, second])

    def _hang_up(self, team: Team, call: str, users: list[Session]) -> None:
        """Everyone who may be in the call leaves at the same moment."""
        race(
            team,
            lambda api: api.http.get("/health"),
            [lambda api, u=u: self._move(team, call, u, LEAVE, api) for u in users],
        )

    def _move(
        self, team: Team, call: str, user: Session, move: str, api: ApiClient | None = None
    ) -> None:
        path = f"/api/v1/calls/{call}/{move}"

        def send() -> httpx.Response:
            if api is not None:  # a race's warm connection
                return api.http.post(path, headers=user.headers)
            return team.call(user, lambda a, s: a.http.post(path, headers=s.headers))()

        team.recorder.write(
            team.recorder.process(), move, {"call": call, "user": user.user_id}, send
        )

    def read(self, team: Team) -> None:
        found = {call: team.read(f"/api/v1/calls/{call}") for call in self.calls}
        state = {call: call_state(body) for call, body in found.items() if "absent" not in body}
        team.recorder.history.final_read(state, CALLS)

    def check(self, team: Team) -> InvariantResult:
        return check_calls(team.recorder.history)
