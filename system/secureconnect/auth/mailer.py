"""Outgoing mail over SMTP (aiosmtplib), sent off the request path.

Registration answers without waiting for the SMTP server; each send has
SMTP timeouts and failures are logged, never surfaced to the client.
What every send would otherwise redo is done once: the STARTTLS context (the
system's CA bundle parsed: ~3 % of auth's busy time in a sign-up burst) and
the EHLO name (a reverse DNS lookup).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from email.message import EmailMessage
from urllib.parse import quote

import aiosmtplib

from secureconnect.auth.settings import AuthSettings

log = logging.getLogger(__name__)

#: How long shutdown waits for mails still being sent, seconds.
DRAIN_TIMEOUT_S = 5.0


def verification_message(
    settings: AuthSettings, to: str, display_name: str, token: str
) -> EmailMessage:
    link = f"{settings.public_base_url.rstrip('/')}/verify-email?token={quote(token)}"
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = "Verify your SecureConnect e-mail address"
    message.set_content(
        f"Hello {display_name},\n\n"
        f"confirm your address by opening {link}\n"
        f"or by sending this token to POST /api/v1/auth/verify-email:\n\n"
        f"Verification token: {token}\n"
    )
    return message


class Mailer:
    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._pending: set[asyncio.Task[None]] = set()
        self._tls = ssl.create_default_context() if settings.smtp_starttls else None
        self._ehlo_name: str | None = None

    def send_later(self, message: EmailMessage) -> None:
        task = asyncio.create_task(self._send(message))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            if self._ehlo_name is None:
                self._ehlo_name = await asyncio.to_thread(socket.getfqdn)
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username.get_secret_value() if s.smtp_username else None,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                start_tls=s.smtp_starttls,
                tls_context=self._tls,
                local_hostname=self._ehlo_name,
                timeout=s.smtp_timeout_s,
            )
            log.info("mail sent", extra={"subject": message["Subject"]})
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            log.error("mail not sent", extra={"subject": message["Subject"], "error": str(exc)})

    async def drain(self) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=DRAIN_TIMEOUT_S)
