"""The email side of the outbox: which notifications are due to be mailed, and what happened.

A sender claims due rows with a lease (``lease_until``) before talking to the mail server, so a
sender that dies mid-way leaves its rows claimable again once the lease runs out; it records each
mail the server accepted as sent, and backs off the ones it refused. Failures back off
exponentially; after ``MAIL_MAX_ATTEMPTS`` a row is ``dead`` and waits for an operator
(``flask outbox``). Every function here flushes; the delivery edge
(``reviewsite/notifications/delivery.py``) decides when each step commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import joinedload

from reviewsite.extensions import db
from reviewsite.models import EmailStatus, Notification, Review

BACKOFF_MAX = timedelta(hours=2)


def lease() -> timedelta:
    """``MAIL_LEASE_SECONDS``, which is also the delivery tasks' time limit (``config.py``), so a
    lease never runs out under a sender that is still alive."""
    return timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])


def _claimable(now: datetime):
    return (
        Notification.email_status == EmailStatus.PENDING,
        Notification.next_attempt_at <= now,
        or_(Notification.lease_until.is_(None), Notification.lease_until <= now),
    )


def due_ids(*, now: datetime, limit: int) -> list[int]:
    """Rows waiting to be mailed, the longest-waiting first."""
    return list(
        db.session.scalars(
            select(Notification.id).where(*_claimable(now)).order_by(Notification.next_attempt_at).limit(limit)
        )
    )


def claim(notification_ids: list[int], *, now: datetime) -> list[int]:
    """Lease the given rows that are due and unclaimed; returns the ids this caller now owns. A
    row another sender holds, or one already sent, is left out: two messages for the same row
    (a redelivered task, the sweep and the prompt dispatch) send it once."""
    if not notification_ids:
        return []
    return list(
        db.session.scalars(
            update(Notification)
            .where(Notification.id.in_(notification_ids), *_claimable(now))
            .values(lease_until=now + lease(), attempts=Notification.attempts + 1)
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
    )


def load(notification_ids: list[int]) -> list[Notification]:
    """The claimed rows with what their mails need (recipient, review, business) in one query."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.id.in_(notification_ids))
            .order_by(Notification.id)
            .options(joinedload(Notification.recipient), joinedload(Notification.review).joinedload(Review.business))
        )
    )


def mark_sent(notification_id: int, *, now: datetime) -> None:
    """A mail the server accepted: sent, lease given back. One mail at a time, since each is
    recorded before the next one goes (invariant 5)."""
    db.session.execute(_MARK_SENT, {"notification_id": notification_id, "now": now})


# Built once, values as parameters: it runs once a mail (docs/architecture.md, "One implementation
# per operation"). The table, not the entity: nothing loaded needs synchronising. An equality, not
# an IN list: an expanding parameter is worked into the SQL string again on every execution.
_notifications = Notification.__table__
_MARK_SENT = (
    update(_notifications)
    .where(_notifications.c.id == bindparam("notification_id"))
    .values(email_status=EmailStatus.SENT, sent_at=bindparam("now"), lease_until=None, last_error=None)
)


def back_off(errors: dict[int, str], *, now: datetime, lease_until: datetime) -> None:
    """Mail that failed: try again later, each row after its own count of attempts (doubling
    from ``MAIL_BACKOFF_BASE_SECONDS``, at most two hours), or give up after
    ``MAIL_MAX_ATTEMPTS``.

    Only rows still under the sender's own lease (``lease_until``) are touched: a sender that
    outlived its lease (its host paused for longer, where no time limit can end it) must not put
    back to pending a mail the next sender has sent since, nor clear that sender's lease; either
    would send it once more."""
    if not errors:
        return
    base = current_app.config["MAIL_BACKOFF_BASE_SECONDS"]
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    changes = []
    for notification_id, attempts in db.session.execute(
        select(Notification.id, Notification.attempts)
        .where(Notification.id.in_(errors), Notification.lease_until == lease_until)
        .with_for_update()
    ):
        changes.append({
            "id": notification_id,
            "email_status": EmailStatus.DEAD if attempts >= max_attempts else EmailStatus.PENDING,
            "next_attempt_at": now + min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), BACKOFF_MAX),
            "lease_until": None,
            "last_error": errors[notification_id][:2000],
        })
    if changes:
        db.session.execute(update(Notification), changes)


def release(notification_ids: list[int], *, lease_until: datetime) -> None:
    """Give back claimed rows that were not tried (a slow server used up half the lease), so
    another sender may take them at once rather than after the lease; only those still under
    this sender's lease (see :func:`back_off`)."""
    db.session.execute(
        update(Notification)
        .where(Notification.id.in_(notification_ids), Notification.email_status == EmailStatus.PENDING,
               Notification.lease_until == lease_until)
        .values(lease_until=None)
        .execution_options(synchronize_session=False)
    )


def dead(*, ids: tuple[int, ...] = ()) -> list[Notification]:
    query = select(Notification).where(Notification.email_status == EmailStatus.DEAD).order_by(Notification.id)
    if ids:
        query = query.where(Notification.id.in_(ids))
    return list(db.session.scalars(query))


def retry_dead(*, ids: tuple[int, ...] = (), now: datetime) -> int:
    """An operator puts given-up mail back in the queue, with a fresh count of attempts."""
    rows = dead(ids=ids)
    for row in rows:
        row.email_status, row.attempts, row.next_attempt_at = EmailStatus.PENDING, 0, now
    db.session.flush()
    return len(rows)
