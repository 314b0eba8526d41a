"""Push notifications for incoming calls: the webhook provider (retries on
transient failures, not on client errors) and FCM HTTP v1 (the OAuth2 JWT
bearer grant, then the send) against local HTTP receivers; and the stack's
video service ringing a callee through the capture server's webhook."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client import REGISTRY
from secureconnect.common.clock import ManualClock
from secureconnect.video.fcm import FCM_SCOPE, JWT_BEARER_GRANT, FcmPushProvider, ServiceAccount
from secureconnect.video.push import (
    PUSH_MAX_ATTEMPTS,
    IncomingCallPush,
    PushError,
    WebhookPushProvider,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.platform.base import Platform
from harness.platform.components.services import PUSH_WEBHOOK_CHANNEL
from tests.chat.support import User
from tests.helpers import eventually
from tests.video.support import local_http, place_call

CAPTURE_DEADLINE_S = 10.0
DEAD_DEVICE = "device-that-was-uninstalled"


def a_push(devices: tuple[str, ...] = ()) -> IncomingCallPush:
    return IncomingCallPush(
        push_id=uuid.uuid4().hex,
        user_id=uuid.uuid4(),
        call_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        caller_id=uuid.uuid4(),
        media="video",
        devices=devices,
    )


def attempts(service: str, provider: str, outcome: str) -> float:
    labels = {"service": service, "provider": provider, "outcome": outcome}
    return REGISTRY.get_sample_value("push_attempts_total", labels) or 0.0


@dataclass
class FlakyWebhook:
    """Answers `status` to the first `failures` requests, then 200."""

    failures: int
    status: int = 503
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.received.append((request.headers.get("x-push-id", ""), await request.json()))
            if len(self.received) <= self.failures:
                return Response(status_code=self.status)
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


async def test_webhook_retries_transient_failures_until_delivered() -> None:
    receiver = FlakyWebhook(failures=2)
    push = a_push(("device-1",))
    async with local_http(receiver.app()) as base, httpx.AsyncClient() as http:
        provider = WebhookPushProvider("video-push-test", f"{base}/hook", http)
        await provider.send(push)
    assert len(receiver.received) == 3
    assert {push_id for push_id, _ in receiver.received} == {push.push_id}
    body = receiver.received[-1][1]
    assert body["type"] == "call.incoming" and body["call_id"] == str(push.call_id)
    assert body["devices"] == ["device-1"]
    assert attempts("video-push-test", "webhook", "error") == 2
    assert attempts("video-push-test", "webhook", "ok") == 1


@pytest.mark.parametrize(
    ("failures", "status", "tries"), [(1, 400, 1), (99, 503, PUSH_MAX_ATTEMPTS)]
)
async def test_webhook_gives_up(failures: int, status: int, tries: int) -> None:
    receiver = FlakyWebhook(failures=failures, status=status)
    async with local_http(receiver.app()) as base, httpx.AsyncClient() as http:
        provider = WebhookPushProvider("video-push-giveup", f"{base}/hook", http)
        with pytest.raises(PushError):
            await provider.send(a_push())
    assert len(receiver.received) == tries


@dataclass
class FakeFcm:
    """A local OAuth token endpoint and FCM send endpoint that check what they get."""

    public_key: Any
    token_uri: str = ""
    grants: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    refuse_first_send: bool = True

    def app(self) -> Starlette:
        async def token(request: Request) -> Response:
            form = parse_qs((await request.body()).decode())
            assert form["grant_type"] == [JWT_BEARER_GRANT]
            claims = jwt.decode(
                form["assertion"][0],
                self.public_key,
                algorithms=["RS256"],
                audience=self.token_uri,
            )
            self.grants.append(claims)
            return JSONResponse(
                {
                    "access_token": f"token-{len(self.grants)}",
                    "expires_in": 3600,
                    "token_type": "Bearer",
                }
            )

        async def send(request: Request) -> Response:
            expected = f"Bearer token-{len(self.grants)}"
            if request.headers.get("authorization") != expected:
                return JSONResponse({"error": {"status": "UNAUTHENTICATED"}}, status_code=401)
            if self.refuse_first_send:  # as if the token had been revoked meanwhile
                self.refuse_first_send = False
                return JSONResponse({"error": {"status": "UNAUTHENTICATED"}}, status_code=401)
            message = (await request.json())["message"]
            if message["token"] == DEAD_DEVICE:
                error = {"status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}
                return JSONResponse({"error": error}, status_code=404)
            self.sent.append({"path": request.url.path, **message})
            return JSONResponse({"name": f"projects/p/messages/{len(self.sent)}"})

        return Starlette(
            routes=[
                Route("/token", token, methods=["POST"]),
                Route("/v1/projects/{project}/messages:send", send, methods=["POST"]),
            ]
        )


def service_account_file(directory: Path, token_uri: str) -> tuple[Path, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    account = {
        "type": "service_account",
        "project_id": "secureconnect-test",
        "private_key_id": "key-1",
        "private_key": pem,
        "client_email": "push@secureconnect-test.iam.gserviceaccount.com",
        "token_uri": token_uri,
    }
    path = directory / "fcm.json"
    path.write_text(json.dumps(account))
    return path, key.public_key()


async def test_fcm_exchanges_a_signed_assertion_and_sends_to_each_device(tmp_path: Path) -> None:
    fake = FakeFcm(public_key=None)
    async with local_http(fake.app()) as base, httpx.AsyncClient() as http:
        fake.token_uri = f"{base}/token"
        path, fake.public_key = service_account_file(tmp_path, fake.token_uri)
        forgotten: list[str] = []

        async def forget(_: IncomingCallPush, device: str) -> None:
            forgotten.append(device)

        clock = ManualClock(time.time())
        provider = FcmPushProvider(
            "video-fcm-test",
            ServiceAccount.from_file(path),
            base + "/v1/projects/{project_id}/messages:send",
            http,
            clock,
            forget,
        )
        push = a_push(("device-a", DEAD_DEVICE, "device-b"))
        await provider.send(push)

    # The first token was refused once: a second grant, then every device.
    assert len(fake.grants) == 2
    claims = fake.grants[0]
    assert claims["iss"] == "push@secureconnect-test.iam.gserviceaccount.com"
    assert claims["scope"] == FCM_SCOPE and claims["exp"] - claims["iat"] == 3600
    assert [m["token"] for m in fake.sent] == ["device-a", "device-b"]
    assert {m["path"] for m in fake.sent} == {"/v1/projects/secureconnect-test/messages:send"}
    assert fake.sent[0]["data"]["call_id"] == str(push.call_id)
    assert forgotten == [DEAD_DEVICE]


async def test_the_stack_rings_the_callee_through_the_push_webhook(
    api: httpx.AsyncClient, stack: Platform, alice: User, bob: User, conversation: str
) -> None:
    device = f"bob-phone-{uuid.uuid4().hex[:8]}"
    registered = await api.post(
        "/api/v1/calls/push-devices", json={"token": device, "platform": "ios"}, headers=bob.headers
    )
    assert registered.status_code == 204, registered.text
    call = await place_call(api, alice, conversation, mode="p2p")
    capture = f"{stack.endpoint('capture').url}/webhooks/{PUSH_WEBHOOK_CHANNEL}"
    async with httpx.AsyncClient(timeout=5) as client:

        async def pushed() -> list[dict[str, Any]]:
            items = (await client.get(capture)).json()["items"]
            return [i for i in items if i.get("call_id") == call["call_id"]]

        [item] = await eventually(pushed, CAPTURE_DEADLINE_S, "the push at the webhook")
    assert item["user_id"] == bob.user_id and item["caller_id"] == alice.user_id
    assert item["devices"] == [device]
