"""Writing notifications into the outbox, in the same transaction as the fact they report.

A fact has a dedupe key (for example ``review_held:12:7``: review 12 held, told to user 7); the
unique index on it, with INSERT ... ON CONFLICT DO NOTHING, makes a repeated fact a no-op, and
the ids of the rows really inserted are handed to ``after_commit`` for prompt delivery.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from reviewsite.extensions import db
from reviewsite.models import Delivery, EmailStatus, Notification, Review, User
from reviewsite.notifications.catalogue import topic_of

PENDING_IDS_KEY = "reviewsite.outbox.new_ids"
# Rows per INSERT: well under PostgreSQL's and SQLite's bound-parameter limits.
INSERT_CHUNK = 500


def review_facts(review: Review | None) -> dict[str, object]:
    if review is None:
        return {}
    return {
        "stars": review.stars,
        "publish_at": review.publish_at.isoformat() if review.publish_at else None,
    }


_STATUS_FOR = {
    Delivery.EMAIL: EmailStatus.PENDING,
    Delivery.DIGEST: EmailStatus.DIGEST,
    Delivery.SITE_ONLY: EmailStatus.SITE_ONLY,
}


def _email_statuses(kind: str, recipient_ids: list[int]) -> dict[int, EmailStatus]:
    from reviewsite.services.preferences import deliveries_for  # preferences imports the catalogue

    topic = topic_of(kind)
    if topic is None:  # account mail always goes
        return {user_id: EmailStatus.PENDING for user_id in recipient_ids}
    return {user_id: _STATUS_FOR[d] for user_id, d in deliveries_for(topic, recipient_ids).items()}


@dataclass(frozen=True)
class Fact:
    """One thing to tell some people: the review it is about (if any), its facts at this moment,
    and what makes it unique (``subject`` goes into the dedupe key)."""

    subject: str | int
    recipient_ids: tuple[int, ...]
    review_id: int | None = None
    facts: dict[str, object] = field(default_factory=dict)


def notify_many(kind: str, facts: Iterable[Fact], *, now: datetime, delay: timedelta = timedelta(0)) -> list[int]:
    """Write every notification of ``kind`` for many facts in one INSERT; returns the new ids.

    Each recipient's preference for the kind's topic decides whether the email goes at once
    (``delay`` later), waits for the daily digest, or stays in the site."""
    facts = list(facts)
    statuses = _email_statuses(kind, sorted({r for fact in facts for r in fact.recipient_ids}))
    rows = [
        {
            "dedupe_key": f"{kind}:{fact.subject}:{recipient_id}",
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
    if not rows:
        return []
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    ids: list[int] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        statement = (
            insert(Notification)
            .values(rows[start : start + INSERT_CHUNK])
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(Notification.id)
        )
        ids.extend(db.session.scalars(statement))
    db.session.info.setdefault(PENDING_IDS_KEY, []).extend(ids)
    return ids


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
    """Queue one notification of ``kind`` per recipient about one fact; returns the new ids."""
    subject = fact if fact is not None else (review.id if review is not None else "")
    return notify_many(
        kind,
        [Fact(subject=subject, recipient_ids=tuple(r if isinstance(r, int) else r.id for r in recipients),
              review_id=review.id if review is not None else None,
              facts={**review_facts(review), **(extra_facts or {})})],
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
    """Compare-and-set on the lease, so a row a worker just claimed is left alone."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification.id, Notification.lease_until.is_(None))
        .values(facts={**notification.facts, "messages": int(notification.facts.get("messages", 1)) + 1})
        .execution_options(synchronize_session=False)
    )
    db.session.expire(notification)
    return result.rowcount == 1
