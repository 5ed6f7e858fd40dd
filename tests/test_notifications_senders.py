"""The email and SMS senders speak their real protocols (SMTP, an HTTP POST) to small local servers."""

from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from api.services.notifications import EmailSender, Message, SmsSender


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self) -> None:
        received: list[bytes] = self.server.received  # type: ignore[attr-defined]
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            command = line.strip().upper()
            if command.startswith((b"EHLO", b"HELO")):
                self.wfile.write(b"250 test\r\n")
            elif command.startswith((b"MAIL", b"RCPT")):
                self.wfile.write(b"250 ok\r\n")
            elif command == b"DATA":
                self.wfile.write(b"354 go\r\n")
                data = b""
                while (part := self.rfile.readline()) not in (b".\r\n", b""):
                    data += part
                received.append(data)
                self.wfile.write(b"250 queued\r\n")
            elif command == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"500 what\r\n")


@contextmanager
def _serving(server: Any) -> Iterator[Any]:
    """The server answering in a thread of its own, noting what it received, until the block ends."""
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    with _serving(socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)) as server:
        yield server


class _GatewayHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        self.server.received.append(  # type: ignore[attr-defined]
            (self.headers.get("authorization"), json.loads(self.rfile.read(length)))
        )
        status = self.server.status  # type: ignore[attr-defined]
        self.send_response(status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what arrived instead."""


@pytest.fixture
def sms_gateway() -> Iterator[Any]:
    with _serving(HTTPServer(("127.0.0.1", 0), _GatewayHandler)) as server:
        server.status = 200
        yield server


def _message(**overrides: Any) -> Message:
    values: dict[str, Any] = {
        "notification_id": 7,
        "kind": "shift_reminder",
        "subject": "服务班次提醒",
        "body": "提醒：您明天有服务班次「助餐」。",
        "email": "volunteer@example.org",
        "phone": "13800138000",
    }
    values.update(overrides)
    return Message(**values)


async def test_the_email_sender_sends_the_chinese_message_over_smtp(smtp_server):
    port = smtp_server.server_address[1]
    sender = EmailSender(f"smtp://127.0.0.1:{port}", "linli@example.org")
    assert await sender.send(_message()) == "email"
    [raw] = smtp_server.received
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["To"] == "volunteer@example.org" and mail["From"] == "linli@example.org"
    assert mail["Subject"] == "服务班次提醒"
    body = mail.get_body()
    assert body is not None and "您明天有服务班次「助餐」" in body.get_content()


async def test_the_email_sender_leaves_a_recipient_without_an_address_to_the_inbox(smtp_server):
    port = smtp_server.server_address[1]
    sender = EmailSender(f"smtp://127.0.0.1:{port}", "linli@example.org")
    assert await sender.send(_message(email=None)) == "inapp"
    assert smtp_server.received == []


async def test_an_unreachable_smtp_server_raises_so_the_outbox_retries():
    sender = EmailSender("smtp://127.0.0.1:9", "linli@example.org")
    with pytest.raises(ConnectionRefusedError):
        await sender.send(_message())


async def test_the_sms_sender_posts_the_text_to_the_gateway(sms_gateway):
    port = sms_gateway.server_address[1]
    sender = SmsSender(f"http://127.0.0.1:{port}/send", "secret-token")
    assert await sender.send(_message()) == "sms"
    [(authorization, payload)] = sms_gateway.received
    assert authorization == "Bearer secret-token"
    assert payload == {"to": "13800138000", "text": "提醒：您明天有服务班次「助餐」。"}
    assert await sender.send(_message(phone=None)) == "inapp"
    assert len(sms_gateway.received) == 1


async def test_a_gateway_refusal_raises_so_the_outbox_retries(sms_gateway):
    sms_gateway.status = 503
    port = sms_gateway.server_address[1]
    sender = SmsSender(f"http://127.0.0.1:{port}/send", None)
    with pytest.raises(urllib.error.HTTPError, match="503"):
        await sender.send(_message())
