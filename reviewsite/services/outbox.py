"""Notifications written into the outbox, in the same transaction as the fact they report.

A notification row is both the in-site notice and the email still to send. Because it is written
with the state change, a committed fact always has its notifications, and a rolled-back one has
none. A fact has a dedupe key (``review_held:12:7``: review 12 held, told to user 7); the unique
index on it makes a repeated fact (a retried task, a double click) write nothing. The ids of the
rows really written are handed to the after-commit dispatch (``notifications/dispatch.py``) for
prompt delivery; whatever it misses, the pending-mail sweep sends.

Every notification is written by one statement, :func:`_written_from` (``INSERT ... SELECT``):
the dedupe key, the email status each recipient's preference gives and what the notice keeps of
its review are worked out there and only there, for one recipient or for a sweep's thousand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (JSON, ColumnElement, Insert, Integer, String, bindparam, case, cast, func, literal, null, select,
                        true, union_all, update)
from sqlalchemy.sql import FromClause, Subquery

from reviewsite.database import built_once_per_database, insert_skipping_duplicates
from reviewsite.extensions import db
from reviewsite.models import Delivery, EmailStatus, Membership, Notification, NotificationPreference, Review, User
from reviewsite.services.notification_kinds import topic_of
from reviewsite.services.preferences import DEFAULT_DELIVERY

PENDING_IDS_KEY = "reviewsite.outbox.new_ids"

_STATUS_FOR = {
    Delivery.EMAIL: EmailStatus.PENDING,
    Delivery.DIGEST: EmailStatus.DIGEST,
    Delivery.SITE_ONLY: EmailStatus.SITE_ONLY,
}


def notify(
    kind: str,
    recipients: Iterable[User | int],
    *,
    now: datetime,
    review: Review | None = None,
    fact: str | int | None = None,
    delay: timedelta = timedelta(0),
    extra_facts: dict[str, object] | None = None,
    to_address: str | None = None,
) -> list[int]:
    """One notification of ``kind`` to each recipient about one fact, named in the dedupe key by
    ``fact`` (else the review's id); the email waits ``delay`` if the recipient wants it at once.
    With ``to_address`` the email goes to that address instead of the recipients' own; with no
    recipients, one notification for the address alone, which no account sees in the site (an
    invitation to someone who has none yet). Returns the ids written."""
    recipient_ids = sorted({r if isinstance(r, int) else r.id for r in recipients})
    if not recipient_ids and to_address is None:
        return []
    subject = fact if fact is not None else (review.id if review is not None else "")
    return _write(_notice_statement(kind, bool(recipient_ids)), {
        "recipient_ids": recipient_ids,
        "subject": str(subject),
        "to_address": to_address,
        "review_id": review.id if review is not None else None,
        "review_stars": review.stars if review is not None else None,
        "review_publish_at": review.publish_at if review is not None else None,
        "now": now,
        "next_attempt_at": now + delay,
        "facts": extra_facts or {},
    })


@built_once_per_database
def _notice_statement(kind: str, to_accounts: bool) -> Insert:
    """:func:`notify`'s statement for ``kind``, to accounts (``recipient_ids``) or to an address
    alone, with every value a parameter: one statement object per kind and shape, reused, so a
    notice costs its execution only (SQLAlchemy keeps the compiled form of a statement it has
    seen, but would otherwise build this one and work out its cache key on every call)."""
    table = Notification.__table__
    columns = (
        bindparam("subject", type_=String).label("subject"),
        (User.id if to_accounts else cast(null(), Integer)).label("recipient_id"),
        bindparam("to_address", type_=String).label("to_address"),
        bindparam("review_id", type_=Integer).label("review_id"),
        bindparam("review_stars", type_=Integer).label("review_stars"),
        bindparam("review_publish_at", type_=table.c.review_publish_at.type).label("review_publish_at"),
    )
    rows = (select(*columns).where(User.id.in_(bindparam("recipient_ids", expanding=True))) if to_accounts
            else select(*columns)).subquery("recipients")
    return _written_from(kind, rows, rows.c.recipient_id, now=bindparam("now", type_=table.c.created_at.type),
                         next_attempt_at=bindparam("next_attempt_at", type_=table.c.next_attempt_at.type),
                         facts=bindparam("facts", type_=JSON))


def notify_held(review_ids: list[int], recipient_id: int, *, now: datetime) -> list[int]:
    """"review_held" for each of these reviews, told to one person (a new member of the business),
    with the review's stars and release time: one statement however many are held."""
    rows = (
        select(
            cast(Review.id, String).label("subject"),
            literal(recipient_id, Integer).label("recipient_id"),
            literal(None, String).label("to_address"),
            Review.id.label("review_id"),
            Review.stars.label("review_stars"),
            Review.publish_at.label("review_publish_at"),
        )
        .where(Review.id.in_(review_ids))
        .subquery("recipients")
    )
    return _write(_written_from("review_held", rows, rows.c.recipient_id, **_WRITTEN_NOW), {"now": now}) if review_ids else []


def notify_published(review_ids: list[int], *, now: datetime) -> list[int]:
    """"review_published" for each of these reviews, told to its author and to every member of
    its business, with the review's stars and release time: a sweep's batch in one statement."""
    published = (
        select(Review.id, Review.author_id, Review.business_id, Review.stars, Review.publish_at)
        .where(Review.id.in_(review_ids))
        .subquery("published")
    )
    return _write(published_notices(published), {"now": now})


def published_notices(published: FromClause) -> Insert:
    """The ``INSERT`` of "review_published" for each row of ``published`` (a review's id,
    author_id, business_id, stars and publish_at): the reviews just published, read from the
    table or, in the sweep's one statement on PostgreSQL, from its ``UPDATE ... RETURNING``.
    Written at the parameter ``now``; ``RETURNING`` the ids written."""
    p = published.c
    told = union_all(
        select(p.id.label("review_id"), p.author_id.label("recipient_id")),
        select(p.id, Membership.user_id).join(Membership, Membership.business_id == p.business_id),
    ).subquery("told")
    rows = (
        select(
            cast(p.id, String).label("subject"),
            told.c.recipient_id,
            literal(None, String).label("to_address"),
            p.id.label("review_id"),
            p.stars.label("review_stars"),
            p.publish_at.label("review_publish_at"),
        )
        .join(told, told.c.review_id == p.id)
        .order_by(p.publish_at, p.id, told.c.recipient_id)
        .subquery("recipients")
    )
    return _written_from("review_published", rows, rows.c.recipient_id, **_WRITTEN_NOW)


# The values of :func:`_written_from` for a notice about many reviews at once: written at the
# parameter ``now``, the email due then, no facts of its own (the review's are in its columns).
_NOW = bindparam("now", type_=Notification.__table__.c.created_at.type)
_WRITTEN_NOW: dict[str, ColumnElement[Any]] = {"now": _NOW, "next_attempt_at": _NOW, "facts": literal({}, JSON)}


def _written_from(kind: str, rows: Subquery, recipient_id, *, now: ColumnElement[Any],
                  next_attempt_at: ColumnElement[Any], facts: ColumnElement[Any]) -> Insert:
    """``INSERT ... SELECT`` one notification of ``kind`` per row of ``rows`` (columns subject,
    recipient_id, to_address, review_id, review_stars, review_publish_at), skipping a row whose
    dedupe key exists, ``RETURNING`` the ids written. The dedupe key names the recipient's
    account, or ``to`` for mail to an address alone. Each recipient's preference for the kind's topic
    decides whether the email goes at once (at ``next_attempt_at``), waits for the daily digest
    or stays in the site; account mail (no topic) always goes. ``now``, ``next_attempt_at`` and
    ``facts`` (the notice's own facts, JSON) are SQL values: parameters or constants."""
    c = rows.c
    topic = topic_of(kind)
    if topic is None:
        status = literal(EmailStatus.PENDING.value, String)
    else:
        chosen = (
            select(NotificationPreference.delivery)
            .where(NotificationPreference.user_id == recipient_id, NotificationPreference.topic == topic)
            .scalar_subquery()
        )
        status = case(
            {delivery.value: email.value for delivery, email in _STATUS_FOR.items()},
            value=func.coalesce(cast(chosen, String), DEFAULT_DELIVERY.value),
        )
    table = Notification.__table__
    return (
        insert_skipping_duplicates(table, "dedupe_key")
        .from_select(
            ["dedupe_key", "kind", "recipient_id", "to_address", "review_id", "review_stars", "review_publish_at",
             "facts", "created_at", "next_attempt_at", "email_status", "attempts"],
            select(
                literal(f"{kind}:", String) + c.subject + literal(":", String)
                + func.coalesce(cast(recipient_id, String), literal("to", String)),
                literal(kind, String),
                recipient_id,
                c.to_address,
                c.review_id,
                c.review_stars,
                c.review_publish_at,
                facts,
                now,
                next_attempt_at,
                status,
                literal(0, Integer),
            ).where(true()),  # SQLite reads an INSERT ... SELECT's ON CONFLICT as a join's ON without it
        )
        .returning(table.c.id)
    )


def _write(statement: Insert, params: dict[str, Any] | None = None) -> list[int]:
    ids = list(db.session.scalars(statement, params))
    remember_new(ids)
    return ids


def remember_new(ids: list[int]) -> None:
    """Hand the ids of rows really written to the after-commit dispatch."""
    if ids:
        db.session.info.setdefault(PENDING_IDS_KEY, []).extend(ids)


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
        if gathering is None or not _count_one_more(gathering, review):
            fresh.append(recipient_id)
    if fresh:
        notify(kind, fresh, now=now, review=review, fact=fact, delay=window, extra_facts={"messages": 1})


def _count_one_more(notification: Notification, review: Review) -> bool:
    """A compare-and-set on the lease, so a row a worker just claimed is left alone (and a fresh
    notice is written instead). The gathered email goes out with the review as it is at its
    latest message: a revision or an extension since the first one moved its stars or release
    time, which the notice keeps in its own columns."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification.id, Notification.lease_until.is_(None))
        .values(facts={**notification.facts, "messages": int(notification.facts.get("messages", 1)) + 1},
                review_stars=review.stars, review_publish_at=review.publish_at)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(notification)
    return result.rowcount == 1

