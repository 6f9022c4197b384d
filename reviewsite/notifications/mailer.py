"""Sending one email: over SMTP when MAIL_SERVER is set, else into the development mailbox."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Protocol

from flask import current_app

from reviewsite.extensions import db
from reviewsite.models import DevMail

# Errors worth retrying later: the server is down, slow, or refused for now.
TRANSIENT_ERRORS = (OSError, smtplib.SMTPException)


def uses_dev_mailbox() -> bool:
    return not current_app.config["MAIL_SERVER"]


class Outbox(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmtpOutbox:
    """One SMTP connection for a batch of messages, opened on first use: a batch of a hundred
    mails pays for one TCP and TLS handshake, not a hundred."""

    def __init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = _connect()
        try:
            self._smtp.send_message(message)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()  # the next message reconnects
            raise

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


class DevMailbox:
    def send(self, message: EmailMessage) -> None:
        _store_in_dev_mailbox(message)

    def close(self) -> None:
        pass


def _connect() -> smtplib.SMTP:
    config = current_app.config
    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT_SECONDS"])
    try:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except BaseException:
        smtp.close()
        raise
    return smtp


@contextmanager
def outbox() -> Iterator[Outbox]:
    """Where this batch of mail goes: the SMTP server, or the development mailbox."""
    target: SmtpOutbox | DevMailbox = DevMailbox() if uses_dev_mailbox() else SmtpOutbox()
    try:
        yield target
    finally:
        target.close()


def _store_in_dev_mailbox(message: EmailMessage) -> None:
    text_part = message.get_body(preferencelist=("plain",))
    db.session.add(
        DevMail(
            message_id=message["Message-ID"],
            to_addr=message["To"],
            subject=message["Subject"],
            text_body=text_part.get_content() if text_part is not None else "",
            headers={key: str(value) for key, value in message.items()},
        )
    )
    db.session.flush()


def send(message: EmailMessage) -> None:
    """Send one message on a connection of its own (batches use :func:`outbox`)."""
    with outbox() as target:
        target.send(message)
