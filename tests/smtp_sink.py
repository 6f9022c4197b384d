"""A real SMTP server on loopback (aiosmtpd) that records what it is given, and can refuse for a
while (451, "try again later") to play a mail server that is down."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Mail:
    rcpt_tos: tuple[str, ...]
    to: str
    subject: str
    message_id: str
    text: str
    html: str
    raw: str
    headers: dict[str, str]
    received_monotonic: float

    @property
    def urls(self) -> list[str]:
        return re.findall(r"https?://[^\s\"'<>]+", self.text)


class RecordingHandler:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self.refusing = False
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusing:
            self.refused += 1
            return "451 4.3.0 Mail server temporarily unavailable"
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        text_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        mail = Mail(
            rcpt_tos=tuple(envelope.rcpt_tos),
            to=str(message["To"]),
            subject=str(message["Subject"]).strip(),
            message_id=str(message["Message-ID"]),
            text=text_part.get_content() if text_part is not None else "",
            html=html_part.get_content() if html_part is not None else "",
            raw=raw.decode("utf-8", "replace"),
            headers={key: str(value) for key, value in message.items()},
            received_monotonic=time.monotonic(),
        )
        with self._lock:
            self._mails.append(mail)
        return "250 Message accepted for delivery"

    @property
    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)


@dataclass
class SmtpServer:
    port: int
    handler: RecordingHandler = field(default_factory=RecordingHandler)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def mails(self) -> list[Mail]:
        return self.handler.mails

    def mails_with(self, subject_part: str, to: str | None = None) -> list[Mail]:
        return [m for m in self.mails if subject_part in m.subject and (to is None or m.to == to)]

    def describe(self) -> str:
        return "mail received:\n" + "\n".join(f"  {m.to}: {m.subject} {m.message_id}" for m in self.mails)


@contextmanager
def serving(app, handler: RecordingHandler | None = None) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback; the app sends to it until the block ends."""
    server = SmtpServer(port=free_port(), handler=handler or RecordingHandler())
    server.start()
    saved = {key: app.config[key] for key in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    try:
        yield server
    finally:
        app.config.update(saved)
        server.stop()
