"""Delivering outbox rows by email: claim with a lease, send, mark sent.

The claim is committed before sending, so a crashed worker's row becomes claimable again when the
lease runs out; a mail the server accepted just before a crash may go once more, with the same
Message-ID (invariant 5). Failures back off exponentially; after MAIL_MAX_ATTEMPTS the row is
``dead`` and waits for an operator (``flask outbox``).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError

from reviewsite.clock import now_utc
from reviewsite.config import TASK_TIME_LIMIT_SECONDS
from reviewsite.extensions import db
from reviewsite.models import EmailStatus, Notification
from reviewsite.notifications import mailer
from reviewsite.notifications.rendering import render_email
from reviewsite.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

# The default lease: the tasks' time limit, which no sender outlives (config.py).
LEASE = timedelta(seconds=TASK_TIME_LIMIT_SECONDS)
BATCH = 50  # mails per SMTP connection and per delivery task
BACKOFF_BASE_SECONDS = 15
BACKOFF_MAX = timedelta(hours=2)


def lease() -> timedelta:
    """MAIL_LEASE_SECONDS; the delivery tasks' time limit is the same, so it never runs out under
    a sender that is still alive."""
    return timedelta(seconds=current_app.config.get("MAIL_LEASE_SECONDS", LEASE.total_seconds()))


def _claimable(now: datetime):
    return (
        Notification.email_status == EmailStatus.PENDING,
        Notification.next_attempt_at <= now,
        or_(Notification.lease_until.is_(None), Notification.lease_until <= now),
    )


def claim(notification_ids: list[int], *, now: datetime) -> list[int]:
    """Lease the given rows that are due and unclaimed; returns the ids this caller now owns."""
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
    return deliver_batch([notification_id]).get(notification_id, "skipped")


def deliver_batch(notification_ids: list[int]) -> dict[int, str]:
    """Deliver the given rows that are due and unclaimed, over one SMTP connection.

    The claim commits first; the rows are rendered in one read transaction that ends before the
    SMTP conversation starts (no database connection idles in a transaction across the network);
    each mail is then sent and marked sent in its own unit of work. Returns what happened to each
    row, for logs and tests."""
    outcomes = {notification_id: "skipped" for notification_id in notification_ids}
    claimed_at = now_utc()
    with unit_of_work():
        claimed = claim(list(notification_ids), now=claimed_at)
    if not claimed:
        return outcomes
    messages: dict[int, EmailMessage] = {}
    broken: dict[int, Exception] = {}
    with unit_of_work():
        for notification_id in sorted(claimed):
            notification = db.session.get(Notification, notification_id)
            if notification is None:
                continue
            try:
                messages[notification_id] = render_email(notification)
            except Exception as exc:  # noqa: BLE001 - a bug in one template must not stop the batch
                broken[notification_id] = exc
    for notification_id, exc in broken.items():
        log.error("mail for notification %s could not be rendered", notification_id, exc_info=exc)
        with unit_of_work():
            mark_failed(notification_id, f"{type(exc).__name__}: {exc}", now=now_utc())
        outcomes[notification_id] = "failed"
    with mailer.outbox() as target:
        pending = list(messages.items())
        for index, (notification_id, message) in enumerate(pending):
            if now_utc() - claimed_at > lease() / 2:
                # A slow server: give the rest back before the lease could run out under us (a
                # second sender would then mail them too).
                _release([i for i, _ in pending[index:]])
                break
            outcomes[notification_id] = _send_one(target, notification_id, message)
    return outcomes


def _send_one(target: mailer.Outbox, notification_id: int, message: EmailMessage) -> str:
    handed_over = False
    try:
        with unit_of_work():
            target.send(message)
            # An SMTP server has the mail now; the development mailbox only once this commits.
            handed_over = not mailer.uses_dev_mailbox()
            mark_sent(notification_id, now=now_utc())
    except Exception as exc:  # noqa: BLE001 - SMTP down or a bug: back off, never lose the row
        if handed_over:
            # The mail went; only recording it failed (the database went away). Marking it failed
            # would send it again: record it on a fresh connection instead.
            return "sent" if _record_sent(notification_id, exc) else "sent-unrecorded"
        log.warning("mail for notification %s failed: %s", notification_id, exc,
                    exc_info=not isinstance(exc, mailer.TRANSIENT_ERRORS))
        with unit_of_work():
            mark_failed(notification_id, f"{type(exc).__name__}: {exc}", now=now_utc())
        return "failed"
    return "sent"


def _release(notification_ids: list[int]) -> None:
    with unit_of_work():
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(notification_ids), Notification.email_status == EmailStatus.PENDING)
            .values(lease_until=None)
            .execution_options(synchronize_session=False)
        )


RECORD_SENT_RETRY_DELAYS = (0.2, 0.5, 1, 2, 4, 8)


def _record_sent(notification_id: int, first_error: Exception) -> bool:
    """Retry marking a mail the SMTP server accepted as sent, for about a database restart.
    If that still fails the lease runs out and the mail goes once more, with the same
    Message-ID: the same outcome as a crash at this point (invariant 5)."""
    log.warning("notification %s was sent but not recorded (%s); retrying", notification_id, first_error)
    for delay in RECORD_SENT_RETRY_DELAYS:
        time.sleep(delay)
        try:
            with unit_of_work():
                mark_sent(notification_id, now=now_utc())
            return True
        except DBAPIError as exc:
            log.warning("recording notification %s as sent failed again: %s", notification_id, exc)
    log.error("notification %s was sent but could not be recorded; it may go once more", notification_id)
    return False


def due_ids(*, now: datetime, limit: int = 200) -> list[int]:
    return list(
        db.session.scalars(
            select(Notification.id).where(*_claimable(now)).order_by(Notification.next_attempt_at).limit(limit)
        )
    )


def deliver_pending(*, limit: int = 200) -> dict[str, int]:
    """The outbox sweep: whatever the after-commit message missed (broker down, worker killed).

    It stops starting batches after a few sweep intervals, so a slow mail server cannot keep a
    worker slot (and the timers queued behind it) for long; the next sweep takes the rest."""
    with unit_of_work():
        ids = due_ids(now=now_utc(), limit=limit)
    budget_ends = time.monotonic() + 3 * current_app.config["SWEEP_INTERVAL_SECONDS"]
    outcomes: dict[str, int] = {}
    for start in range(0, len(ids), BATCH):
        if start and time.monotonic() > budget_ends:
            break
        for outcome in deliver_batch(ids[start : start + BATCH]).values():
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


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
