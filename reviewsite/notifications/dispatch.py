"""After commit, hand new outbox rows to Celery for prompt delivery.

The message goes out only after the rows are committed, so a worker never looks for a row that
does not exist yet. If the broker is down the request still succeeds: the rows are committed and
the outbox sweep delivers them later (invariant 6). One message per commit (up to
:data:`MESSAGE_IDS` ids), however many mails it holds; the worker that takes it passes the
batches beyond its first to other workers (``tasks/delivery.py``).
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from reviewsite import task_names
from reviewsite.services.outbox import PENDING_IDS_KEY

log = logging.getLogger(__name__)

MESSAGE_IDS = 1000  # notification ids per message (about 6 KB of JSON)


def ids_repr(ids: list[int]) -> str:
    """What a delivery message's ids look like in the worker's log and in monitoring: their
    count and range. Celery would otherwise write a repr of up to a thousand ids into every
    message, which cost a sweep's batch more than the rest of its dispatch."""
    if not ids:
        return "[]"
    return f"[{len(ids)} notification id{'' if len(ids) == 1 else 's'}, {ids[0]}..{ids[-1]}]"


def _after_commit(session: Session) -> None:
    ids = session.info.pop(PENDING_IDS_KEY, None)
    if not ids or not has_app_context():
        return
    celery_app = current_app.extensions.get("celery")
    if celery_app is None:
        return
    try:
        for start in range(0, len(ids), MESSAGE_IDS):
            chunk = ids[start : start + MESSAGE_IDS]
            celery_app.send_task(task_names.DELIVER_NOTIFICATIONS, args=[chunk], argsrepr=ids_repr(chunk), retry=False)
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
