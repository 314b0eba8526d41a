"""The capture server as the relay stand-in: STARTTLS and AUTH required when asked for."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller

from harness.platform.capture import MailHandler, Store, relay_options
from harness.platform.certs import generate
from harness.platform.ports import free_port

LOGIN, PASSWORD = "alertmanager@secureconnect.io", "relay-password"
SOCKET_CLOSE_DEADLINE_S = 10.0


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


@contextlib.asynccontextmanager
async def _session(port: int, ca: Path, start_tls: bool) -> AsyncIterator[aiosmtplib.SMTP]:
    """A client of the relay that QUITs on the way out and waits until its socket is closed:
    a TLS transport closes it only after the TLS shutdown, and one still closing when the
    test's loop ends is a ResourceWarning in whatever test runs next (seen under load)."""
    client = aiosmtplib.SMTP(hostname="localhost", port=port, cert_bundle=str(ca), timeout=10)
    await client.connect(start_tls=start_tls)
    assert client.transport is not None
    sock = client.transport.get_extra_info("socket")
    try:
        yield client
    finally:
        await client.quit()
        async with asyncio.timeout(SOCKET_CLOSE_DEADLINE_S):
            while sock.fileno() != -1:  # noqa: ASYNC110 - a socket has no event to await
                await asyncio.sleep(0.01)


async def test_mail_over_starttls_with_the_login_is_captured(
    relay: tuple[int, Path, Store],
) -> None:
    port, ca, store = relay
    async with _session(port, ca, start_tls=True) as client:
        await client.login(LOGIN, PASSWORD)
        await client.send_message(_message())
    assert [m["subject"] for m in store.messages] == ["hi"]


async def _refused(port: int, ca: Path, start_tls: bool, attempt: str) -> None:
    """Connect, make the `attempt` the relay must refuse, and QUIT."""
    async with _session(port, ca, start_tls) as client:
        with pytest.raises(aiosmtplib.SMTPException):
            if attempt == "login":
                await client.login(LOGIN, "wrong")
            else:
                await client.send_message(_message())


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
    async with _session(port, ca, start_tls=True) as client:
        await client.ehlo()
        assert client.server_auth_methods == ["plain"]
