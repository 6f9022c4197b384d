"""Notifications written into the outbox, in the same transaction as the fact they report.

A notification row is both the in-site notice and the email still to send. Because it is written
with the state change, a committed fact always has its notifications, and a rolled-back one has
none. A fact has a dedupe key (``review_held:12:7``: review 12 held, told to user 7); the unique
index on it makes a repeated fact (a retried task, a double click) write nothing. The ids of the
rows really written are handed to the after-commit dispatch (``notifications/dispatch.py``) for
prompt delivery; whatever it misses, the pending-mail sweep sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update

from reviewsite.database import insert_skipping_duplicates
from reviewsite.extensions import db
from reviewsite.models import Delivery, EmailStatus, Notification, Review, User
from reviewsite.services.notification_kinds import topic_of
from reviewsite.services import preferences

PENDING_IDS_KEY = "reviewsite.outbox.new_ids"
# Rows per INSERT: well under PostgreSQL's and SQLite's limits on bound parameters.
INSERT_CHUNK = 500

_STATUS_FOR = {
    Delivery.EMAIL: EmailStatus.PENDING,
    Delivery.DIGEST: EmailStatus.DIGEST,
    Delivery.SITE_ONLY: EmailStatus.SITE_ONLY,
}


def review_facts(stars: int, publish_at: datetime | None) -> dict[str, object]:
    """What a notice keeps of its review: a notice read or mailed later must say what the review
    was when the fact happened (its stars, its release time), not what it became since."""
    return {"stars": stars, "publish_at": publish_at.isoformat() if publish_at else None}


def dedupe_key(kind: str, subject: str | int, recipient_id: int) -> str:
    return f"{kind}:{subject}:{recipient_id}"


@dataclass(frozen=True)
class Fact:
    """One thing to tell some people: what makes it unique (``subject`` goes into the dedupe
    key), the review it is about (if any) and its facts at this moment."""

    subject: str | int
    recipient_ids: tuple[int, ...]
    review_id: int | None = None
    facts: dict[str, object] = field(default_factory=dict)


def notify_many(kind: str, facts: Iterable[Fact], *, now: datetime, delay: timedelta = timedelta(0)) -> list[int]:
    """Write every notification of ``kind`` for many facts at once; returns the ids written.

    Each recipient's preference for the kind's topic decides whether the email goes at once
    (``delay`` later), waits for the daily digest, or stays in the site; account mail (no topic)
    always goes. One query for the preferences, then one INSERT per :data:`INSERT_CHUNK` rows."""
    facts = [fact for fact in facts if fact.recipient_ids]
    if not facts:
        return []
    statuses = _email_statuses(kind, {recipient for fact in facts for recipient in fact.recipient_ids})
    rows = [
        {
            "dedupe_key": dedupe_key(kind, fact.subject, recipient_id),
            "kind": kind,
            "recipient_id": recipient_id,
            "review_id": fact.review_id,
            "facts": fact.facts,
            "created_at": now,
            "next_attempt_at": now + delay,
            "email_status": statuses[recipient_id],
            "attempts": 0,
        }
        for fact in facts
        for recipient_id in fact.recipient_ids
    ]
    table = Notification.__table__
    statement = insert_skipping_duplicates(table, "dedupe_key").returning(table.c.id)
    ids: list[int] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        ids.extend(db.session.scalars(statement, rows[start : start + INSERT_CHUNK]))
    remember_new(ids)
    return ids


def _email_statuses(kind: str, recipient_ids: set[int]) -> dict[int, EmailStatus]:
    topic = topic_of(kind)
    if topic is None:  # account mail cannot be turned off
        return {user_id: EmailStatus.PENDING for user_id in recipient_ids}
    return {user_id: _STATUS_FOR[choice] for user_id, choice in preferences.deliveries_for(topic, recipient_ids).items()}


def remember_new(ids: list[int]) -> None:
    """Hand the ids of rows really written to the after-commit dispatch."""
    if ids:
        db.session.info.setdefault(PENDING_IDS_KEY, []).extend(ids)


def notify(
    kind: str,
    recipients: Iterable[User | int],
    *,
    now: datetime,
    review: Review | None = None,
    fact: str | int | None = None,
    delay: timedelta = timedelta(0),
    extra_facts: dict[str, object] | None = None,
) -> list[int]:
    """One notification of ``kind`` per recipient about one fact (``fact``, else the review's
    id, names it in the dedupe key); returns the ids written."""
    subject = fact if fact is not None else (review.id if review is not None else "")
    facts = review_facts(review.stars, review.publish_at) if review is not None else {}
    return notify_many(
        kind,
        [Fact(subject=subject, recipient_ids=tuple(r if isinstance(r, int) else r.id for r in recipients),
              review_id=review.id if review is not None else None, facts={**facts, **(extra_facts or {})})],
        now=now,
        delay=delay,
    )


def notify_gathered(
    kind: str,
    recipients: Iterable[int],
    *,
    now: datetime,
    review: Review,
    fact: str,
    window: timedelta,
) -> None:
    """Fold a burst into one email: if a recipient has a notice of this kind for this review that
    is still gathering (not yet due, unclaimed, unread), count one more message on it; otherwise
    start a new one that waits ``window`` for the rest of the burst."""
    fresh = []
    for recipient_id in recipients:
        gathering = db.session.scalar(
            select(Notification)
            .where(
                Notification.kind == kind,
                Notification.review_id == review.id,
                Notification.recipient_id == recipient_id,
                Notification.email_status != EmailStatus.SENT,
                Notification.read_at.is_(None),
                Notification.lease_until.is_(None),
                Notification.next_attempt_at > now,
            )
            .order_by(Notification.id.desc())
            .limit(1)
        )
        if gathering is None or not _count_one_more(gathering):
            fresh.append(recipient_id)
    if fresh:
        notify(kind, fresh, now=now, review=review, fact=fact, delay=window, extra_facts={"messages": 1})


def _count_one_more(notification: Notification) -> bool:
    """A compare-and-set on the lease, so a row a worker just claimed is left alone (and a fresh
    notice is written instead)."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification.id, Notification.lease_until.is_(None))
        .values(facts={**notification.facts, "messages": int(notification.facts.get("messages", 1)) + 1})
        .execution_options(synchronize_session=False)
    )
    db.session.expire(notification)
    return result.rowcount == 1
