"""The local platform brings every dependency up healthy, reachable through Toxiproxy."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

import asyncpg
import httpx
import pytest
import redis

from harness.platform import probes
from harness.platform.local import PROXIED_DEPENDENCIES, LocalPlatform
from harness.waiting import eventually


def test_every_proxied_dependency_has_a_toxiproxy_proxy(stack: LocalPlatform) -> None:
    proxies = stack.toxiproxy.proxies()
    for name in PROXIED_DEPENDENCIES:
        endpoint = stack.endpoint(name)
        assert proxies[name].upstream == endpoint.address
        assert proxies[name].listen == endpoint.proxy_listen
        assert proxies[name].enabled


def test_redis_through_the_proxy_needs_the_password(stack: LocalPlatform) -> None:
    host, port = stack.endpoint("redis").proxy_listen.split(":")  # type: ignore[union-attr]
    password = stack.run.secret("redis_password")  # type: ignore[union-attr]
    with redis.Redis(host=host, port=int(port), password=password) as client:
        assert client.ping()
    with (
        redis.Redis(host=host, port=int(port)) as anonymous,
        pytest.raises(redis.AuthenticationError),
    ):
        anonymous.get("anything")


def _pg_connect(stack: LocalPlatform, **kwargs: object) -> asyncpg.Connection:
    run = stack.run
    assert run is not None
    host, port = stack.endpoint("postgres").proxy_listen.split(":")  # type: ignore[union-attr]
    return asyncpg.connect(
        host=host,
        port=int(port),
        user="secureconnect",
        database="secureconnect",
        password=run.secret("db_password"),
        timeout=5,
        **kwargs,
    )


async def test_postgres_through_the_proxy_uses_verified_tls(stack: LocalPlatform) -> None:
    assert stack.run is not None
    context = ssl.create_default_context(cafile=str(stack.run.certs.ca_cert))
    conn = await _pg_connect(stack, ssl=context)
    try:
        assert await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert await conn.fetchval("SELECT current_database()") == "secureconnect"
    finally:
        await conn.close()


async def test_postgres_refuses_plain_tcp(stack: LocalPlatform) -> None:
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
        await _pg_connect(stack, ssl=False)


async def test_postgres_refuses_an_unknown_certificate_authority(
    stack: LocalPlatform,
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        await _pg_connect(stack, ssl=ssl.create_default_context())


def test_s3_through_the_proxy_requires_signed_requests(stack: LocalPlatform) -> None:
    run = stack.run
    assert run is not None
    proxied = stack.endpoint("s3").proxy_listen
    assert proxied is not None
    probes.s3_list_buckets(proxied, run.secret("s3_access_key"), run.secret("s3_secret_key"))
    assert httpx.get(f"http://{proxied}/", timeout=5).status_code == 403
    with pytest.raises(Exception, match="SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId"):
        probes.s3_list_buckets(proxied, run.secret("s3_access_key"), "wrong-secret")


def test_coturn_accepts_generated_credentials_and_rejects_others(
    stack: LocalPlatform,
) -> None:
    run = stack.run
    assert run is not None
    endpoint = stack.endpoint("coturn")
    host, port = endpoint.address.split(":")
    user, password = probes.turn_credentials(run.secret("turn_secret"), "alice", 60)
    assert probes.turn_allocate(host, int(port), user, password)[0] == "127.0.0.1"
    for bad_user, bad_password in (
        (user, "wrong"),
        probes.turn_credentials(run.secret("turn_secret"), "alice", -60),  # expired
        probes.turn_credentials("not-the-secret", "alice", 60),
    ):
        with pytest.raises(Exception, match="401"):
            probes.turn_allocate(host, int(port), bad_user, bad_password)


def test_capture_server_receives_mail_over_smtp(stack: LocalPlatform) -> None:
    capture = stack.endpoint("capture")
    host, port = capture.extra["smtp"].split(":")
    message = EmailMessage()
    message["From"] = "noreply@secureconnect.local"
    message["To"] = "alice@example.test"
    message["Subject"] = "Verify your address"
    message.set_content("token: abc123")
    with smtplib.SMTP(host, int(port), timeout=5) as smtp:
        smtp.send_message(message)
    found = httpx.get(f"{capture.url}/messages", params={"to": "alice@example.test"}).json()
    assert found["messages"][-1]["subject"] == "Verify your address"
    assert "abc123" in found["messages"][-1]["text"]


def test_monitoring_is_up_and_prometheus_knows_alertmanager(stack: LocalPlatform) -> None:
    prometheus = stack.endpoint("prometheus").url

    def active() -> list[dict[str, str]]:
        answer = httpx.get(f"{prometheus}/api/v1/alertmanagers", timeout=5).json()
        return answer["data"]["activeAlertmanagers"]

    found = eventually(active, timeout_s=10, what="prometheus discovering alertmanager")
    assert stack.endpoint("alertmanager").address in found[0]["url"]
