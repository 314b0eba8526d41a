"""A capture server for what the stack sends out: mail over SMTP, webhooks over HTTP.

The product sends verification mail and Alertmanager sends alert mail and
webhooks; checks read them back from here. Run it with
`python -m harness.platform.capture --smtp-port P --http-port Q --dir D`.

As the stand-in for a production relay (the compose deployment mails through one
with STARTTLS and a login), `--tls-cert/--tls-key` require STARTTLS and
`--login-file/--password-file` require AUTH with exactly those credentials
(read from the deployment's own secret files); without them it takes plain mail.

HTTP API (JSON):
    GET    /health
    GET    /messages[?to=address]      captured mails, oldest first
    DELETE /messages
    POST   /webhooks/{channel}         record the JSON (or text) body
    GET    /webhooks/{channel}         recorded bodies, oldest first
Every captured item is also appended to `<dir>/mail.jsonl` or `<dir>/webhooks.jsonl`.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import hmac
import json
import logging
import signal
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MAX_ITEMS = 10_000


class Store:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.messages: list[dict[str, Any]] = []
        self.webhooks: dict[str, list[Any]] = {}

    def _append(self, filename: str, record: dict[str, Any]) -> None:
        with (self.directory / filename).open("a") as out:
            out.write(json.dumps(record) + "\n")

    def add_message(self, record: dict[str, Any]) -> None:
        self.messages = [*self.messages[-MAX_ITEMS + 1 :], record]
        self._append("mail.jsonl", record)

    def add_webhook(self, channel: str, body: Any) -> None:
        items = self.webhooks.setdefault(channel, [])
        items.append(body)
        del items[:-MAX_ITEMS]
        self._append(
            "webhooks.jsonl", {"channel": channel, "received_at": time.time(), "body": body}
        )


def parse_mail(envelope: Envelope) -> dict[str, Any]:
    raw = envelope.original_content or envelope.content or b""
    if isinstance(raw, str):
        raw = raw.encode()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain", "html"))
    return {
        "mail_from": envelope.mail_from,
        "rcpt_to": list(envelope.rcpt_tos),
        "subject": str(message.get("Subject", "")),
        "from": str(message.get("From", "")),
        "to": str(message.get("To", "")),
        "text": body.get_content() if body is not None else "",
        "received_at": time.time(),
    }


class MailHandler:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.store.add_message(parse_mail(envelope))
        return "250 Message accepted for delivery"


def build_app(store: Store) -> Starlette:
    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def messages(request: Request) -> Response:
        if request.method == "DELETE":
            store.messages = []
            return Response(status_code=204)
        to = request.query_params.get("to")
        found = [m for m in store.messages if to is None or to in m["rcpt_to"]]
        return JSONResponse({"messages": found})

    async def webhooks(request: Request) -> Response:
        channel = request.path_params["channel"]
        if request.method == "POST":
            raw = await request.body()
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            store.add_webhook(channel, body)
            return JSONResponse({"status": "recorded"})
        return JSONResponse({"items": store.webhooks.get(channel, [])})

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/messages", messages, methods=["GET", "DELETE"]),
            Route("/webhooks/{channel}", webhooks, methods=["GET", "POST"]),
        ]
    )


@dataclass(frozen=True)
class RelayLogin:
    """The one login the relay accepts (constant-time compare), over TLS only."""

    login: bytes
    password: bytes

    def __call__(
        self, _server: Any, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = hmac.compare_digest(data.login, self.login)
        ok &= hmac.compare_digest(data.password, self.password)
        # handled=False: smtp_AUTH answers 535 itself on a failure.
        return AuthResult(success=ok, handled=False)


def relay_options(args: argparse.Namespace) -> dict[str, Any]:
    """aiosmtpd options for STARTTLS and AUTH, when the flags ask for them."""
    options: dict[str, Any] = {}
    if args.tls_cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        options |= {"tls_context": context, "require_starttls": True}
    if args.login_file is not None:
        login = RelayLogin(
            args.login_file.read_bytes().strip(), args.password_file.read_bytes().strip()
        )
        options |= {
            "authenticator": login,
            "auth_require_tls": args.tls_cert is not None,
            # aiosmtpd's LOGIN challenges ("User Name\0") are not the "Username:" that
            # clients such as Alertmanager expect; relays offer PLAIN, which all speak.
            "auth_exclude_mechanism": ["LOGIN"],
        }
    return options


async def serve(
    host: str, smtp_port: int, http_port: int, directory: Path, relay: dict[str, Any]
) -> None:
    store = Store(directory)
    controller = Controller(MailHandler(store), hostname=host, port=smtp_port, **relay)
    controller.start()
    config = uvicorn.Config(build_app(store), host=host, port=http_port, log_level="warning")
    server = uvicorn.Server(config)
    try:
        await server.serve()
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--tls-cert", type=Path, help="require STARTTLS with this certificate")
    parser.add_argument("--tls-key", type=Path)
    parser.add_argument("--login-file", type=Path, help="require AUTH with this login")
    parser.add_argument("--password-file", type=Path)
    args = parser.parse_args()
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if (args.login_file is None) != (args.password_file is None):
        parser.error("--login-file and --password-file go together")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # aiosmtpd logs a warning about its own use of a deprecated attribute on every login.
    logging.getLogger("mail.log").addFilter(
        lambda record: "login_data is deprecated" not in record.getMessage()
    )
    try:
        asyncio.run(serve(args.host, args.smtp_port, args.http_port, args.dir, relay_options(args)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
