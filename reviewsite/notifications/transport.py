"""Where mail goes: the SMTP server when ``MAIL_SERVER`` is set, else the development mailbox."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from flask import current_app

from reviewsite.extensions import db
from reviewsite.notifications.rendering import OutgoingMail
from reviewsite.services import dev_mailbox

# Errors worth retrying later: the server is down, slow, or refused for now.
TRANSIENT_ERRORS = (OSError, smtplib.SMTPException)


def uses_dev_mailbox() -> bool:
    return not current_app.config["MAIL_SERVER"]


class Transport(Protocol):
    def send(self, message: OutgoingMail) -> None: ...

    def close(self) -> None: ...


class Smtp:
    """One SMTP connection for a batch of messages, opened on first use: a batch pays for one TCP
    and TLS handshake, not one a mail. ``send`` returns once the server has accepted the message
    (250 after DATA), or raises."""

    def __init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: OutgoingMail) -> None:
        if self._smtp is None:
            self._smtp = _connect()
        try:
            options: list[str] = []
            if message.needs_smtputf8:
                # As smtplib's send_message does: an address with non-ASCII characters needs it.
                self._smtp.ehlo_or_helo_if_needed()
                if not self._smtp.has_extn("smtputf8"):
                    raise smtplib.SMTPNotSupportedError(
                        "one of the addresses needs SMTPUTF8, which the server does not support")
                options.append("SMTPUTF8")
            self._smtp.sendmail(message.sender, [message.recipient], message.as_bytes(), mail_options=options)
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
    """Mail goes into the database, in the caller's transaction: it is "sent" when that commits.
    Each mail is stored under a savepoint, so one that fails leaves the batch's others intact."""

    def send(self, message: OutgoingMail) -> None:
        with db.session.begin_nested():
            dev_mailbox.store(message_id=message["Message-ID"], to_addr=message["To"], subject=message["Subject"],
                              text_body=message.text, headers=dict(message.items()))

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
def opened() -> Iterator[Transport]:
    """The transport for one batch of mail, closed afterwards."""
    transport: Transport = DevMailbox() if uses_dev_mailbox() else Smtp()
    try:
        yield transport
    finally:
        transport.close()
