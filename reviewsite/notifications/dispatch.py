"""After commit, hand new outbox rows to Celery for prompt delivery.

The message goes out only after the row is committed, so a worker never looks for a row that does
not exist yet. If the broker is down the request still succeeds: the row is committed and the
outbox sweep delivers it later (invariant 6).

One message per commit (up to MESSAGE_IDS ids), however many SMTP batches it holds: a sweep's
batch writes about a thousand notices, and twenty messages cost the sweep more than the rest of
its work after the statement. The worker that takes the message hands the other batches to its
peers (``tasks.delivery.deliver_notifications``).
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from reviewsite.notifications import DELIVER_BATCH_TASK
from reviewsite.services.outbox import PENDING_IDS_KEY

log = logging.getLogger(__name__)

MESSAGE_IDS = 1000  # notification ids per message (about 6 KB of JSON)


def _after_commit(session: Session) -> None:
    ids = session.info.pop(PENDING_IDS_KEY, None)
    if not ids or not has_app_context():
        return
    celery_app = current_app.extensions.get("celery")
    if celery_app is None or not current_app.config.get("DISPATCH_AFTER_COMMIT", True):
        return
    try:
        for start in range(0, len(ids), MESSAGE_IDS):
            celery_app.send_task(DELIVER_BATCH_TASK, args=[ids[start : start + MESSAGE_IDS]], retry=False)
    except Exception:  # noqa: BLE001 - any broker failure; the sweep is the guarantee
        log.warning("broker unavailable; %d notifications left for the outbox sweep", len(ids), exc_info=True)


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # Only the outermost rollback discards the transaction's rows; a savepoint's does not.
    if previous_transaction.parent is None:
        session.info.pop(PENDING_IDS_KEY, None)


def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
