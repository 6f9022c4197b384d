"""Mailing outbox rows: the one edge where a piece of work commits in several steps.

A request or a task is one unit of work. Mailing a batch cannot be: the mail server takes no part
in the database's transactions, and what it has accepted cannot be rolled back. So each step
commits on its own, in this order, calling the flush-only functions of
``reviewsite/services/mail_queue.py``:

1. claim the rows with a lease, so that no other sender takes them meanwhile, and a crashed
   sender's rows become claimable again when the lease runs out;
2. load and render them, in a read that ends before the SMTP conversation starts (no connection
   idles in a transaction across the network);
3. send them one after the other over one connection, recording each mail the server accepted as
   sent before the next one goes (one statement that commits by itself, on one database
   connection held through the conversation: ``unit_of_work.statement_by_statement``): a sender
   killed in the middle leaves at most one accepted mail unrecorded, and that one goes once more
   after the lease with the same Message-ID (invariant 5); a slow server past half the lease gets
   the rest given back (``release``);
4. back off the ones it refused.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager, nullcontext

from flask import current_app
from sqlalchemy.exc import DBAPIError

from reviewsite.clock import database_now, now_utc
from reviewsite.notifications import transport
from reviewsite.notifications.rendering import OutgoingMail, SharedParts, render_email
from reviewsite.services import mail_queue
from reviewsite.unit_of_work import Unit, statement_by_statement, unit_of_work

log = logging.getLogger(__name__)

BATCH = 50  # mails per SMTP connection and per delivery task
# Recording accepted mail as sent is retried for about as long as a database restart takes.
RECORD_RETRY_DELAYS = (0.2, 0.5, 1, 2, 4, 8)


def batches(notification_ids: list[int]) -> list[list[int]]:
    """The ids in SMTP-batch-sized pieces, in order."""
    return [notification_ids[start : start + BATCH] for start in range(0, len(notification_ids), BATCH)]


def deliver_batch(notification_ids: list[int]) -> dict[int, str]:
    """Mail the given rows that are due and unclaimed, over one connection. Returns what
    happened to each ("sent", "failed", "skipped", or "sent-unrecorded" when the database could
    not be told), for logs and tests."""
    outcomes = {notification_id: "skipped" for notification_id in notification_ids}
    # Leases are granted and judged by the database's clock, so a sender whose host clock runs
    # ahead cannot take a lease that is still running; the give-back deadline is time elapsed
    # here, on this host's clock at both ends, so a skew cancels out.
    give_back_at = now_utc() + mail_queue.lease() / 2
    with unit_of_work():
        claimed_at = database_now()
        claimed = mail_queue.claim(list(notification_ids), now=claimed_at)
    lease_until = claimed_at + mail_queue.lease()  # as claim() wrote it: this sender's own lease
    if not claimed:
        return outcomes
    errors: dict[int, str] = {}
    messages: list[tuple[int, OutgoingMail]] = []
    with unit_of_work():
        shared = SharedParts()
        for notification in mail_queue.load(claimed):
            try:
                messages.append((notification.id, render_email(notification, shared)))
            except Exception as exc:  # noqa: BLE001 - a bug in one template must not stop the batch
                log.error("mail for notification %s could not be rendered", notification.id, exc_info=exc)
                errors[notification.id] = _describe(exc)
    untried: list[int] = []
    with transport.opened() as mail, _records() as record:
        for index, (notification_id, message) in enumerate(messages):
            if now_utc() > give_back_at:
                untried = [i for i, _ in messages[index:]]
                break
            try:
                mail.send(message)
            except Exception as exc:  # noqa: BLE001 - SMTP down or a bug: back off, never lose the row
                log.warning("mail for notification %s failed: %s", notification_id, exc,
                            exc_info=not isinstance(exc, transport.TRANSIENT_ERRORS))
                errors[notification_id] = _describe(exc)
                continue
            outcome = _record_sent(notification_id, record)
            if outcome is None:
                errors[notification_id] = "the development mailbox could not store it"
            else:
                outcomes[notification_id] = outcome
    if untried:
        with unit_of_work():
            mail_queue.release(untried, lease_until=lease_until)
    if errors:
        with unit_of_work():
            mail_queue.back_off(errors, now=database_now(), lease_until=lease_until)
        outcomes.update(dict.fromkeys(errors, "failed"))
    return outcomes


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _records() -> AbstractContextManager[Unit]:
    """The units that record accepted mail, one a mail. Mail handed to an SMTP server is recorded
    statement by statement on one connection held through the conversation; the development
    mailbox's mail is a row the session holds, so it commits with its record, in an ordinary unit
    of work."""
    return nullcontext(unit_of_work) if transport.uses_dev_mailbox() else statement_by_statement()


def _record_sent(notification_id: int, record: Unit) -> str | None:
    """Record one accepted mail as sent. The development mailbox's mail is stored in this same
    transaction, so if it fails nothing was sent (None). An SMTP server's mail went whatever the
    database says: recording it is retried, since marking it failed would send it again."""
    for attempt, delay in enumerate((0, *RECORD_RETRY_DELAYS)):
        if delay:
            time.sleep(delay)
        try:
            with record():
                mail_queue.mark_sent(notification_id, now=now_utc())
            return "sent"
        except DBAPIError as exc:
            if transport.uses_dev_mailbox():
                return None
            log.warning("notification %s was sent but not recorded (attempt %d): %s", notification_id, attempt + 1, exc)
    log.error("notification %s was sent but could not be recorded; it may go once more", notification_id)
    return "sent-unrecorded"


def deliver_pending(*, limit: int = 200) -> dict[str, int]:
    """The outbox sweep: whatever the prompt after-commit message missed (broker down, worker
    killed, a backed-off retry now due). It stops starting batches after three sweep intervals,
    so a slow mail server cannot hold a worker for long; the next sweep takes the rest."""
    with unit_of_work():
        ids = mail_queue.due_ids(now=database_now(), limit=limit)
    budget_ends = time.monotonic() + 3 * current_app.config["SWEEP_INTERVAL_SECONDS"]
    counts: dict[str, int] = {}
    for number, batch in enumerate(batches(ids)):
        if number and time.monotonic() > budget_ends:
            break
        for outcome in deliver_batch(batch).values():
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts
