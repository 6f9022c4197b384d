"""Delivering outbox rows by email: claim a batch with a lease, send, mark the accepted ones sent.

The claim is committed before sending, so a crashed worker's row becomes claimable again when the
lease runs out; each mail the server accepted is recorded as sent before the next one goes, so a
crash can leave at most one accepted mail unrecorded, and that one goes once more after the
lease, with the same Message-ID (invariant 5).
Failures back off exponentially; after MAIL_MAX_ATTEMPTS the row is ``dead`` and waits for an
operator (``flask outbox``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.exc import DBAPIError

from reviewsite.clock import database_now, now_utc
from reviewsite.config import TASK_TIME_LIMIT_SECONDS
from reviewsite.extensions import db
from reviewsite.models import EmailStatus, Notification, Review
from reviewsite.notifications import mailer
from reviewsite.notifications.rendering import Batch, OutgoingMail, render_email
from reviewsite.unit_of_work import each_statement_commits, unit_of_work

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


def load(notification_ids: list[int]) -> list[Notification]:
    """The claimed rows with what their mails need (recipient, review, business): one query for
    the whole batch, not three lazy loads a mail."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.id.in_(notification_ids))
            .order_by(Notification.id)
            .options(joinedload(Notification.recipient),
                     joinedload(Notification.review).joinedload(Review.business))
        )
    )


_notifications = Notification.__table__
# Built once: it runs once per mail, and building an UPDATE costs more than running it.
_MARK_SENT = (
    update(_notifications)
    .where(_notifications.c.id.in_(bindparam("ids", expanding=True)))
    .values(email_status=EmailStatus.SENT, sent_at=bindparam("now"), lease_until=None, last_error=None)
)


def mark_sent(notification_ids: list[int], *, now: datetime) -> None:
    """Record mail the SMTP server accepted: one statement for any number of rows."""
    db.session.execute(_MARK_SENT, {"ids": list(notification_ids), "now": now})


def mark_failed(errors: dict[int, str], *, now: datetime, lease_until: datetime | None = None) -> None:
    """Back off the given rows (each by its own count of attempts), or give up on those that have
    had MAIL_MAX_ATTEMPTS: one query and one statement for any number of rows.

    ``lease_until``: the sender's own lease; rows whose lease is no longer that one are left
    alone. A sender that outlived its lease (its host paused longer than the lease, so its time
    limit could not end it) must not put back to pending a mail that the next sender has sent
    since, or clear that sender's lease: either would send it once more."""
    if not errors:
        return
    base = current_app.config.get("MAIL_BACKOFF_BASE_SECONDS", BACKOFF_BASE_SECONDS)
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    changes = []
    own = select(Notification.id, Notification.attempts).where(Notification.id.in_(errors))
    if lease_until is not None:
        own = own.where(Notification.lease_until == lease_until).with_for_update()
    for notification_id, attempts in db.session.execute(own):
        delay = min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), BACKOFF_MAX)
        changes.append({
            "id": notification_id,
            "email_status": EmailStatus.DEAD if attempts >= max_attempts else EmailStatus.PENDING,
            "next_attempt_at": now + delay,
            "lease_until": None,
            "last_error": errors[notification_id][:2000],
        })
    if changes:
        db.session.execute(update(Notification), changes)


def deliver(notification_id: int) -> str:
    """Deliver one row if it is due and unclaimed. Returns what happened, for logs and tests."""
    return deliver_batch([notification_id]).get(notification_id, "skipped")


def hand_over(notification_ids: list[int], send: Callable[[list[int]], object]) -> None:
    """Send ``notification_ids`` on in SMTP-batch-sized messages (``send`` queues one). A broker
    failure leaves the rest to the outbox sweep, which is the guarantee anyway."""
    try:
        for start in range(0, len(notification_ids), BATCH):
            send(notification_ids[start : start + BATCH])
    except Exception:  # noqa: BLE001 - any broker failure
        log.warning("could not hand over %d notifications; the outbox sweep will deliver them",
                    len(notification_ids) - start, exc_info=True)


def deliver_batch(notification_ids: list[int]) -> dict[int, str]:
    """Deliver the given rows that are due and unclaimed, over one SMTP connection.

    The claim commits first; the rows are loaded (one query) and rendered in one read transaction
    that ends before the SMTP conversation starts (no database connection idles in a transaction
    across the network). The mails then go one after the other, each recorded as sent as soon as
    the server accepted it (see :class:`_Ledger`); those it refused back off together afterwards.
    Returns what happened to each row, for logs and tests."""
    outcomes = {notification_id: "skipped" for notification_id in notification_ids}
    # Leases are granted and judged by the database's clock, so a sender host whose clock runs
    # ahead cannot take a lease that is still running; the give-back deadline is time elapsed
    # here, on this host's clock both times (a skew cancels out).
    give_back_at = now_utc() + lease() / 2
    with unit_of_work():
        claimed_at = database_now()
        claimed = claim(list(notification_ids), now=claimed_at)
    lease_until = claimed_at + lease()  # as claim() wrote it: this sender's own lease
    if not claimed:
        return outcomes
    ledger = _Ledger(outcomes, lease_until)
    messages: list[tuple[int, OutgoingMail]] = []
    with unit_of_work():
        batch = Batch()
        for notification in load(claimed):
            try:
                messages.append((notification.id, render_email(notification, batch)))
            except Exception as exc:  # noqa: BLE001 - a bug in one template must not stop the batch
                log.error("mail for notification %s could not be rendered", notification.id, exc_info=exc)
                ledger.failed(notification.id, exc)
    try:
        with mailer.outbox() as target:
            for index, (notification_id, message) in enumerate(messages):
                if now_utc() > give_back_at:
                    # A slow server: give the rest back before the lease could run out under us (a
                    # second sender would then mail them too).
                    ledger.record()
                    _release([i for i, _ in messages[index:]], lease_until=lease_until)
                    break
                try:
                    target.send(message)
                except Exception as exc:  # noqa: BLE001 - SMTP down or a bug: back off, never lose the row
                    log.warning("mail for notification %s failed: %s", notification_id, exc,
                                exc_info=not isinstance(exc, mailer.TRANSIENT_ERRORS))
                    ledger.failed(notification_id, exc)
                else:
                    ledger.accepted(notification_id)
                    ledger.record()
    finally:
        # Also when something above raised: what the server accepted must not wait for the lease.
        ledger.record()
        db.session.commit()  # gives back the connection the records kept (nothing is pending)
    ledger.back_off()
    return outcomes


class _Ledger:
    """What a batch's SMTP conversation did, written back to the outbox.

    A mail the server accepted is marked sent (:meth:`record`, one short transaction) before the
    next mail goes. Recording a whole batch at once would be cheaper, but a worker killed in the
    middle of the batch would then leave every accepted mail unrecorded, and each would go again
    after the lease: one kill, many duplicates. One at a time, a kill costs at most one duplicate,
    with the same Message-ID (invariant 5). Refused mail backs off in one statement after the
    conversation (:meth:`back_off`): sending it again early gains nothing."""

    def __init__(self, outcomes: dict[int, str], lease_until: datetime) -> None:
        self.outcomes = outcomes
        self.lease_until = lease_until
        self.unrecorded: list[int] = []
        self.errors: dict[int, str] = {}

    def accepted(self, notification_id: int) -> None:
        self.unrecorded.append(notification_id)

    def failed(self, notification_id: int, exc: BaseException) -> None:
        self.errors[notification_id] = f"{type(exc).__name__}: {exc}"
        self.outcomes[notification_id] = "failed"

    def record(self) -> None:
        ids, self.unrecorded = self.unrecorded, []
        if not ids:
            return
        # The development mailbox's mail is in this same transaction: it goes when this commits.
        handed_over = not mailer.uses_dev_mailbox()
        try:
            if handed_over and each_statement_commits():
                # PostgreSQL: the UPDATE commits by itself, on the connection the session keeps
                # for the rest of the conversation (one round trip a mail: no checkout, no
                # BEGIN/COMMIT). deliver_batch gives the connection back at the end.
                mark_sent(ids, now=now_utc())
            else:
                with unit_of_work():
                    mark_sent(ids, now=now_utc())
        except Exception as exc:  # noqa: BLE001 - the database went away, or a bug
            db.session.rollback()
            if not handed_over:
                for notification_id in ids:
                    self.failed(notification_id, exc)
                return
            # The mails went; only recording them failed. Marking them failed would send them
            # again: record them on a fresh connection instead.
            outcome = "sent" if _record_sent(ids, exc) else "sent-unrecorded"
        else:
            outcome = "sent"
        for notification_id in ids:
            self.outcomes[notification_id] = outcome

    def back_off(self) -> None:
        if self.errors:
            with unit_of_work():
                mark_failed(self.errors, now=database_now(), lease_until=self.lease_until)


def _release(notification_ids: list[int], *, lease_until: datetime) -> None:
    """Give back rows still under this sender's lease (see :func:`mark_failed`)."""
    with unit_of_work():
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(notification_ids), Notification.email_status == EmailStatus.PENDING,
                   Notification.lease_until == lease_until)
            .values(lease_until=None)
            .execution_options(synchronize_session=False)
        )


RECORD_SENT_RETRY_DELAYS = (0.2, 0.5, 1, 2, 4, 8)


def _record_sent(notification_ids: list[int], first_error: Exception) -> bool:
    """Retry marking mails the SMTP server accepted as sent, for about a database restart.
    If that still fails the lease runs out and the mails go once more, with the same
    Message-IDs: the same outcome as a crash at this point (invariant 5)."""
    log.warning("notifications %s were sent but not recorded (%s); retrying", notification_ids, first_error)
    for delay in RECORD_SENT_RETRY_DELAYS:
        time.sleep(delay)
        try:
            with unit_of_work():
                mark_sent(notification_ids, now=now_utc())
            return True
        except DBAPIError as exc:
            log.warning("recording notifications %s as sent failed again: %s", notification_ids, exc)
    log.error("notifications %s were sent but could not be recorded; they may go once more", notification_ids)
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
        ids = due_ids(now=database_now(), limit=limit)
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
