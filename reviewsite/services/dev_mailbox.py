"""The development mailbox: the mail that would have been sent, kept in the database while no
SMTP server is configured, so that the whole loop (confirmation links included) can be followed
on a laptop. Only the development site shows it (``reviewsite/dev/``)."""

from __future__ import annotations

from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import DevMail


def store(*, message_id: str, to_addr: str, subject: str, text_body: str, headers: dict[str, str]) -> DevMail:
    mail = DevMail(message_id=message_id, to_addr=to_addr, subject=subject, text_body=text_body, headers=headers)
    db.session.add(mail)
    db.session.flush()
    return mail


def recent(limit: int = 200) -> list[DevMail]:
    return list(db.session.scalars(select(DevMail).order_by(DevMail.id.desc()).limit(limit)))


def get(mail_id: int) -> DevMail | None:
    return db.session.get(DevMail, mail_id)
