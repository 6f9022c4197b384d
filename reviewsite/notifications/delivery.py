"""Delivering outbox rows by email: claim with a lease, send, mark sent.

The claim is committed before sending, so a crashed worker's row becomes claimable again when the
lease runs out; a mail the server accepted just before a crash may go once more, with the same
Message-ID (invariant 5). Failures back off exponentially; after MAIL_MAX_ATTEMPTS the row is
``dead`` and waits for an operator (``flask outbox``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from reviewsite.clock import now_utc
from reviewsite.extensions import db
from reviewsite.models import EmailStatus, Notification
from reviewsite.notifications import mailer
from reviewsite.notifications.rendering import render_email
from reviewsite.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
BACKOFF_BASE_SECONDS = 15
BACKOFF_MAX = timedelta(hours=2)


def _claimable(now: datetime):
    return (
        Notification.email_status == EmailStatus.PENDING,
        Notification.next_attempt_at <= now,
        or_(Notification.lease_until.is_(None), Notification.lease_until <= now),
    )


def claim(notification_id: int, *, now: datetime) -> bool:
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, *_claimable(now))
        .values(lease_until=now + LEASE, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def mark_sent(notification_id: int, *, now: datetime) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(email_status=EmailStatus.SENT, sent_at=now, lease_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )


def mark_failed(notification_id: int, error: str, *, now: datetime) -> None:
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        return
    base = current_app.config.get("MAIL_BACKOFF_BASE_SECONDS", BACKOFF_BASE_SECONDS)
    delay = min(timedelta(seconds=base * 2 ** max(notification.attempts - 1, 0)), BACKOFF_MAX)
    dead = notification.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
    notification.email_status = EmailStatus.DEAD if dead else EmailStatus.PENDING
    notification.next_attempt_at = now + delay
    notification.lease_until = None
    notification.last_error = error[:2000]
    db.session.flush()


def deliver(notification_id: int) -> str:
    """Deliver one row if it is due and unclaimed. Returns what happened, for logs and tests."""
    with unit_of_work():
        if not claim(notification_id, now=now_utc()):
            return "skipped"
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        return "skipped"
    try:
        message = render_email(notification)
        with unit_of_work():
            mailer.send(message)
            mark_sent(notification_id, now=now_utc())
    except Exception as exc:  # noqa: BLE001 - SMTP down or a bug: back off, never lose the row
        log.warning("mail for notification %s failed: %s", notification_id, exc,
                    exc_info=not isinstance(exc, mailer.TRANSIENT_ERRORS))
        with unit_of_work():
            mark_failed(notification_id, f"{type(exc).__name__}: {exc}", now=now_utc())
        return "failed"
    return "sent"


def due_ids(*, now: datetime, limit: int = 200) -> list[int]:
    return list(
        db.session.scalars(
            select(Notification.id).where(*_claimable(now)).order_by(Notification.next_attempt_at).limit(limit)
        )
    )


def deliver_pending(*, limit: int = 200) -> dict[str, int]:
    """The outbox sweep: whatever the after-commit message missed (broker down, worker killed)."""
    with unit_of_work():
        ids = due_ids(now=now_utc(), limit=limit)
    outcomes: dict[str, int] = {}
    for notification_id in ids:
        outcome = deliver(notification_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
