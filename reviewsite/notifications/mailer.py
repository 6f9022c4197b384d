"""Sending one email: over SMTP when MAIL_SERVER is set, else into the development mailbox."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app

from reviewsite.extensions import db
from reviewsite.models import DevMail

# Errors worth retrying later: the server is down, slow, or refused for now.
TRANSIENT_ERRORS = (OSError, smtplib.SMTPException)


def uses_dev_mailbox() -> bool:
    return not current_app.config["MAIL_SERVER"]


def send(message: EmailMessage) -> None:
    if uses_dev_mailbox():
        _store_in_dev_mailbox(message)
        return
    config = current_app.config
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT_SECONDS"]) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)


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
