"""SecureConnect load journeys for Locust.

    locust -f loadtests/locustfile.py --headless --host http://127.0.0.1:8080 -u 100 -r 10

Run it through `readiness load`, which evaluates loadtests/slo.yaml against the
CSV stats; never import this module into the harness process (Locust patches
the socket module with gevent at import).

The mix, by weight of users: chat 6 (REST sends, delivery timed on the
recipient's /ws: the `realtime` journey), polls 2, files 2, calls 1, auth
sessions 1. Every user
registers and logs in on its first task (its buddy too, where the journey
needs a second person), then thinks for a few seconds between tasks.
"""

from __future__ import annotations

import random
import time
from typing import Any

import sc_data
from locust import FastHttpUser, between, events, task
from locust.env import Environment
from locust.runners import WorkerRunner
from sc_api import Account, Api, JourneyError
from sc_sockets import EventListener, Signaling, report

#: How long a callee or caller waits for the other side's signaling frame, seconds.
SIGNALING_DEADLINE_S = 5.0
#: Files a user keeps before deleting the oldest, so the quota never fills.
FILES_KEPT = 5


@events.test_start.add_listener
def announce_worker(environment: Environment, **_kwargs: Any) -> None:
    """In distributed mode each worker reports one META row, so the merged stats show
    how many workers' stats the master combined (the harness leaves META out of SLOs)."""
    if isinstance(environment.runner, WorkerRunner):
        environment.events.request.fire(
            request_type="META",
            name="worker reporting",
            response_time=0,
            response_length=0,
            exception=None,
            context={},
        )


class JourneyUser(FastHttpUser):
    """Sets itself up on its first task, so a failed sign-up is retried, not fatal."""

    abstract = True
    connection_timeout = 5.0
    network_timeout = 15.0
    journey = "journey"

    def on_start(self) -> None:
        self.api = Api(self.client)
        self.ready = False
        #: Accounts registered so far by prefix: a retried set-up logs in, never re-registers.
        self.emails: dict[str, str] = {}

    def ensure_ready(self) -> None:
        if not self.ready:
            self.set_up()
            self.ready = True

    def account(self, prefix: str) -> Account:
        """Register (once) and log in the user's account called `prefix`."""
        if prefix not in self.emails:
            self.emails[prefix] = self.api.register(prefix)
        return self.api.login(self.emails[prefix])

    def set_up(self) -> None:
        self.me = self.account(self.journey)


class AuthUser(JourneyUser):
    """A returning user: signs in, looks at the profile, refreshes, signs out."""

    weight = 1
    wait_time = between(3, 8)
    journey = "auth"

    @task
    def session(self) -> None:
        self.ensure_ready()
        account = self.api.login(self.me.email)
        account = self.api.refresh(account)
        self.api.logout(account)


class ChatUser(JourneyUser):
    """Talks to a buddy whose /ws listener times every message's delivery."""

    weight = 6
    wait_time = between(1, 4)
    journey = "chat"

    def set_up(self) -> None:
        super().set_up()
        self.buddy = self.account("chat-buddy")
        self.conversation = self.api.conversation("chat", self.me, self.buddy)
        token = self.buddy.access_token
        self.listener = EventListener(self.environment, self.host, token, "realtime")
        self.last_message: str | None = None

    def on_stop(self) -> None:
        if self.ready:
            self.listener.close()

    @task(6)
    def send_message(self) -> None:
        self.ensure_ready()
        msg_id = self.api.new_msg_id()
        self.listener.expect(msg_id)
        try:
            text = sc_data.message_text(msg_id[:8])
            self.last_message = self.api.send(self.me, self.conversation, text, msg_id)
        except JourneyError:
            self.listener.forget(msg_id)  # never sent: its delivery is not awaited
            raise

    @task(2)
    def read_history(self) -> None:
        self.ensure_ready()
        path = f"/conversations/{self.conversation}/messages?limit=50"
        self.api.call("GET", path, "chat: history", 200, self.buddy)

    @task(1)
    def list_conversations(self) -> None:
        self.ensure_ready()
        self.api.call("GET", "/conversations", "chat: list conversations", 200, self.me)

    @task(1)
    def react(self) -> None:
        self.ensure_ready()
        if self.last_message is None:
            return
        body = {"emoji": random.choice(sc_data.EMOJI)}
        path = f"/messages/{self.last_message}/reactions"
        self.api.call("POST", path, "chat: react", 201, self.buddy, body)

    @task(1)
    def typing(self) -> None:
        self.ensure_ready()
        path = f"/conversations/{self.conversation}/typing"
        self.api.call("POST", path, "chat: typing", 204, self.me)

    @task(1)
    def search(self) -> None:
        self.ensure_ready()
        path = f"/search/messages?q={random.choice(sc_data.SEARCH_TERMS)}"
        self.api.call("GET", path, "chat: search", 200, self.me)


class PollUser(JourneyUser):
    """Asks the team a question, both vote, the results are read; some polls are closed."""

    weight = 2
    wait_time = between(2, 6)
    journey = "polls"

    def set_up(self) -> None:
        super().set_up()
        self.buddy = self.account("polls-buddy")
        self.conversation = self.api.conversation("polls", self.me, self.buddy, group=True)
        self.open_poll: dict[str, Any] | None = None

    @task(3)
    def poll_round(self) -> None:
        self.ensure_ready()
        question, options = sc_data.poll()
        body = {"question": question, "options": options, "multiple_choice": False}
        body["anonymous"] = random.random() < 0.3
        path = f"/conversations/{self.conversation}/polls"
        poll = self.api.call("POST", path, "polls: create", 201, self.me, body)
        for voter in (self.me, self.buddy):
            self._vote(poll, voter)
        self._results(poll["poll_id"], voters=2)
        if random.random() < 0.3:
            self.api.call("POST", f"/polls/{poll['poll_id']}/close", "polls: close", 200, self.me)
            self.open_poll = None
        else:
            self.open_poll = poll

    @task(1)
    def change_vote(self) -> None:
        self.ensure_ready()
        if self.open_poll is None:
            return
        self._vote(self.open_poll, self.buddy)
        self._results(self.open_poll["poll_id"], voters=2)

    def _vote(self, poll: dict[str, Any], voter: Account) -> None:
        option = random.choice(poll["options"])["option_id"]
        body = {"option_ids": [option]}
        self.api.call("POST", f"/polls/{poll['poll_id']}/votes", "polls: vote", 200, voter, body)

    def _results(self, poll_id: str, voters: int) -> None:
        """Read the results; counted as failed unless both votes are in them."""
        name = "polls: results"
        response = self.client.get(
            f"/api/v1/polls/{poll_id}", name=name, headers=self.me.headers, catch_response=True
        )
        with response as answer:
            if answer.status_code != 200:
                answer.failure(f"{name}: expected 200, got {answer.status_code}")
            elif (counted := answer.json().get("total_voters")) != voters:
                answer.failure(f"{name}: {counted} voters, not {voters}")


class FileUser(JourneyUser):
    """Shares attachments: presigned upload, complete, download and compare, tidy up."""

    weight = 2
    wait_time = between(3, 8)
    journey = "files"

    def set_up(self) -> None:
        super().set_up()
        self.files: list[str] = []

    @task(4)
    def share_file(self) -> None:
        self.ensure_ready()
        filename, content_type, data = sc_data.file_payload()
        body = {"filename": filename, "content_type": content_type, "size": len(data)}
        staged = self.api.call("POST", "/files/upload-url", "files: upload url", 201, self.me, body)
        put = self.client.put(
            staged["upload_url"], data=data, name="files: PUT object", catch_response=True
        )
        with put as answer:
            if answer.status_code not in (200, 204):
                answer.failure(f"files: PUT object answered {answer.status_code}")
                raise JourneyError("PUT to the upload URL failed")
        file_id = staged["file_id"]
        self.api.call("POST", f"/files/{file_id}/complete", "files: complete", 200, self.me)
        self.files.append(file_id)
        self._download(file_id, data)
        if len(self.files) > FILES_KEPT:
            oldest = self.files.pop(0)
            self.api.call("DELETE", f"/files/{oldest}", "files: delete", 204, self.me)

    @task(1)
    def browse(self) -> None:
        self.ensure_ready()
        self.api.call("GET", "/files", "files: list", 200, self.me)
        self.api.call("GET", "/files/quota", "files: quota", 200, self.me)

    def _download(self, file_id: str, expected: bytes) -> None:
        link = self.api.call(
            "GET", f"/files/{file_id}/download-url", "files: download url", 200, self.me
        )
        got = self.client.get(link["url"], name="files: GET object", catch_response=True)
        with got as answer:
            if answer.status_code != 200:
                answer.failure(f"files: GET object answered {answer.status_code}")
            elif answer.content != expected:
                answer.failure("files: GET object returned other bytes than were uploaded")


class CallUser(JourneyUser):
    """Rings a buddy: initiate, join, offer/answer over /ws/calls, hang up."""

    weight = 1
    wait_time = between(5, 10)
    journey = "calls"

    def set_up(self) -> None:
        super().set_up()
        self.buddy = self.account("calls-buddy")
        self.conversation = self.api.conversation("calls", self.me, self.buddy)

    @task(4)
    def call(self) -> None:
        self.ensure_ready()
        body = {"conversation_id": self.conversation, "media": "audio", "mode": "p2p"}
        call_id = self.api.call("POST", "/calls", "calls: initiate", 201, self.me, body)["call_id"]
        try:
            self.api.call("POST", f"/calls/{call_id}/join", "calls: join", 200, self.buddy)
            self._negotiate(call_id)
        finally:
            self.api.call("POST", f"/calls/{call_id}/end", "calls: end", 200, self.me)

    @task(1)
    def turn_credentials(self) -> None:
        self.ensure_ready()
        self.api.call("GET", "/calls/turn-credentials", "calls: turn credentials", 200, self.me)

    def _negotiate(self, call_id: str) -> None:
        caller = Signaling(self.environment, self.host, call_id, self.me.access_token)
        callee = Signaling(self.environment, self.host, call_id, self.buddy.access_token)
        try:
            if not (caller.open and callee.open):
                raise JourneyError("signaling socket did not open")
            for side in (caller, callee):
                if side.wait_for("ready", SIGNALING_DEADLINE_S) is None:
                    raise JourneyError(f"no ready frame within {SIGNALING_DEADLINE_S}s")
            self._relay(caller, callee, "offer", sc_data.audio_offer_sdp(), self.buddy.user_id)
            self._relay(callee, caller, "answer", sc_data.answer_sdp(), self.me.user_id)
        finally:
            caller.close()
            callee.close()

    def _relay(self, sender: Signaling, receiver: Signaling, kind: str, sdp: str, to: str) -> None:
        """Send one SDP frame and time it until the other side has it."""
        started = time.perf_counter()
        sender.send({"type": kind, "sdp": sdp, "to": to})
        frame = receiver.wait_for(kind, SIGNALING_DEADLINE_S)
        error = None if frame is not None else f"no {kind} within {SIGNALING_DEADLINE_S}s"
        report(self.environment, f"calls: {kind} relay", started, len(sdp), error)
        if error:
            raise JourneyError(error)
