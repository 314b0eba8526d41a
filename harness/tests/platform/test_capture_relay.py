"""The capture server as the relay stand-in: STARTTLS and AUTH required when asked for."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller

from harness.platform.capture import MailHandler, Store, relay_options
from harness.platform.certs import generate
from harness.platform.ports import free_port

LOGIN, PASSWORD = "alertmanager@secureconnect.io", "relay-password"


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[tuple[int, Path, Store]]:
    certs = generate(tmp_path / "certs", ("localhost",))
    (tmp_path / "login").write_text(LOGIN + "\n")
    (tmp_path / "password").write_text(PASSWORD)
    args = argparse.Namespace(
        tls_cert=certs.server_cert,
        tls_key=certs.server_key,
        login_file=tmp_path / "login",
        password_file=tmp_path / "password",
    )
    store, port = Store(tmp_path / "mail"), free_port()
    controller = Controller(
        MailHandler(store), hostname="127.0.0.1", port=port, **relay_options(args)
    )
    controller.start()
    yield port, certs.ca_cert, store
    controller.stop()


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.test", "b@example.test", "hi"
    message.set_content("body")
    return message


async def _send(port: int, ca: Path, **options: object) -> None:
    await aiosmtplib.send(
        _message(), hostname="localhost", port=port, cert_bundle=str(ca), timeout=10, **options
    )


async def test_mail_over_starttls_with_the_login_is_captured(
    relay: tuple[int, Path, Store],
) -> None:
    port, ca, store = relay
    await _send(port, ca, start_tls=True, username=LOGIN, password=PASSWORD)
    assert [m["subject"] for m in store.messages] == ["hi"]


async def _refused(port: int, ca: Path, start_tls: bool, attempt: str) -> None:
    """Connect, make the `attempt` the relay must refuse, and QUIT: a client that is
    closed mid-session (as `aiosmtplib.send` does on an error) leaves its TLS transport
    closing after the test's loop ended, a ResourceWarning in whatever test runs next."""
    client = aiosmtplib.SMTP(hostname="localhost", port=port, cert_bundle=str(ca), timeout=10)
    await client.connect(start_tls=start_tls)
    try:
        with pytest.raises(aiosmtplib.SMTPException):
            if attempt == "login":
                await client.login(LOGIN, "wrong")
            else:
                await client.send_message(_message())
    finally:
        await client.quit()


async def test_a_wrong_password_is_refused(relay: tuple[int, Path, Store]) -> None:
    port, ca, store = relay
    await _refused(port, ca, start_tls=True, attempt="login")
    assert store.messages == []


async def test_plain_text_mail_is_refused(relay: tuple[int, Path, Store]) -> None:
    port, ca, store = relay
    await _refused(port, ca, start_tls=False, attempt="send")
    assert store.messages == []


async def test_only_plain_login_is_offered(relay: tuple[int, Path, Store]) -> None:
    """aiosmtpd's LOGIN challenges are not the `Username:` Alertmanager expects."""
    port, ca, _store = relay
    client = aiosmtplib.SMTP(hostname="localhost", port=port, cert_bundle=str(ca), timeout=10)
    await client.connect(start_tls=True)
    try:
        await client.ehlo()
        assert client.server_auth_methods == ["plain"]
    finally:
        await client.quit()
