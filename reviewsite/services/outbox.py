"""Writing notifications into the outbox, in the same transaction as the fact they report.

A fact has a dedupe key (for example ``review_held:12:7``: review 12 held, told to user 7); the
unique index on it, with INSERT ... ON CONFLICT DO NOTHING, makes a repeated fact a no-op, and
the ids of the rows really inserted are handed to ``after_commit`` for prompt delivery.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite

from reviewsite.extensions import db
from reviewsite.models import EmailStatus, Notification, Review, User

PENDING_IDS_KEY = "reviewsite.outbox.new_ids"


def _facts(review: Review | None) -> dict[str, object]:
    if review is None:
        return {}
    return {
        "stars": review.stars,
        "publish_at": review.publish_at.isoformat() if review.publish_at else None,
    }


def notify(
    kind: str,
    recipients: Iterable[User | int],
    *,
    now: datetime,
    review: Review | None = None,
    fact: str | int | None = None,
) -> list[int]:
    """Queue one notification of ``kind`` per recipient; returns the ids newly written."""
    facts = _facts(review)
    rows = []
    for recipient in recipients:
        recipient_id = recipient if isinstance(recipient, int) else recipient.id
        subject = fact if fact is not None else (review.id if review is not None else "")
        rows.append(
            {
                "dedupe_key": f"{kind}:{subject}:{recipient_id}",
                "kind": kind,
                "recipient_id": recipient_id,
                "review_id": review.id if review is not None else None,
                "facts": facts,
                "created_at": now,
                "next_attempt_at": now,
                "email_status": EmailStatus.PENDING,
                "attempts": 0,
            }
        )
    if not rows:
        return []
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.id)
    )
    ids = list(db.session.scalars(statement))
    db.session.info.setdefault(PENDING_IDS_KEY, []).extend(ids)
    return ids
