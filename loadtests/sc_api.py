"""The SecureConnect calls the journeys make, named `<journey>: <step>` for the SLOs.

Every request name starts with its journey (`auth`, `chat`, `realtime`, `polls`, `files`,
`calls`): loadtests/slo.yaml sets thresholds per journey and the harness
groups Locust's rows by that prefix. Paths carry ids, names never do, so one
row holds every call of a step.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sc_data
from locust.contrib.fasthttp import FastHttpSession, ResponseContextManager
from locust.exception import RescheduleTask

API = "/api/v1"


class JourneyError(RescheduleTask):
    """A step answered something the journey cannot go on from: the failed request is
    already in the stats, so the user just waits and picks its next task."""


@dataclass
class Account:
    """A registered, logged-in user of the load run."""

    user_id: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def expect(response: ResponseContextManager, status: int, step: str) -> dict[str, Any]:
    """Mark the response failed unless it has `status`; return its JSON body."""
    with response as answer:
        if answer.status_code != status:
            answer.failure(f"{step}: expected {status}, got {answer.status_code}")
            raise JourneyError(f"{step} answered {answer.status_code}")
        if status == 204 or not answer.content:
            return {}
        body: dict[str, Any] = answer.json()
        return body


class Api:
    """One Locust user's view of the API, all requests through its FastHttpSession."""

    def __init__(self, client: FastHttpSession) -> None:
        self.client = client
        #: The device token each account's last login was given, sent with its next
        #: login as a returning client does: those logins take the trusted path
        #: (auth/throttle.py), whose per-device limit is read from Redis.
        self.device_tokens: dict[str, str] = {}

    def call(
        self,
        method: str,
        path: str,
        name: str,
        status: int,
        account: Account | None = None,
        body: Any = None,
    ) -> dict[str, Any]:
        headers = account.headers if account is not None else None
        response = self.client.request(
            method, f"{API}{path}", name=name, json=body, headers=headers, catch_response=True
        )
        return expect(response, status, name)

    # -- auth ----------------------------------------------------------------------

    def register(self, prefix: str) -> str:
        email = sc_data.new_email(prefix)
        body = {"email": email, "password": sc_data.PASSWORD, "display_name": prefix.title()}
        self.call("POST", "/auth/register", "auth: register", 201, body=body)
        return email

    def login(self, email: str) -> Account:
        body = {"email": email, "password": sc_data.PASSWORD}
        if email in self.device_tokens:
            body["device_token"] = self.device_tokens[email]
        tokens = self.call("POST", "/auth/login", "auth: login", 200, body=body)
        if tokens.get("device_token"):
            self.device_tokens[email] = tokens["device_token"]
        me = self.call(
            "GET", "/auth/me", "auth: me", 200, Account("", email, tokens["access_token"], "")
        )
        return Account(me["user_id"], email, tokens["access_token"], tokens["refresh_token"])

    def refresh(self, account: Account) -> Account:
        body = {"refresh_token": account.refresh_token}
        tokens = self.call("POST", "/auth/refresh", "auth: refresh", 200, body=body)
        return Account(
            account.user_id, account.email, tokens["access_token"], tokens["refresh_token"]
        )

    def logout(self, account: Account) -> None:
        self.call("POST", "/auth/logout", "auth: logout", 204, account)

    # -- conversations -----------------------------------------------------------------

    def conversation(
        self, journey: str, owner: Account, *others: Account, group: bool = False
    ) -> str:
        kind = "group" if group or len(others) > 1 else "direct"
        body: dict[str, Any] = {"type": kind, "participant_ids": [o.user_id for o in others]}
        if kind == "group":
            body["title"] = "Load team"
        created = self.call(
            "POST", "/conversations", f"{journey}: create conversation", 201, owner, body
        )
        return str(created["conversation_id"])

    def send(self, account: Account, conversation_id: str, content: str, msg_id: str) -> str:
        body = {"content": content, "client_msg_id": msg_id}
        path = f"/conversations/{conversation_id}/messages"
        sent = self.call("POST", path, "chat: send message", 201, account, body)
        return str(sent["message_id"])

    def new_msg_id(self) -> str:
        return uuid.uuid4().hex
