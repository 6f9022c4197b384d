"""Writing notifications into the outbox, in the same transaction as the fact they report.

A fact has a dedupe key (for example ``review_held:12:7``: review 12 held, told to user 7); the
unique index on it, with INSERT ... ON CONFLICT DO NOTHING, makes a repeated fact a no-op, and
the ids of the rows really inserted are handed to ``after_commit`` for prompt delivery.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import (
    JSON,
    ColumnElement,
    FromClause,
    Insert,
    Integer,
    String,
    Text,
    bindparam,
    case,
    cast,
    column,
    func,
    literal,
    select,
    update,
)
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
    return review_facts_of(review.stars, review.publish_at)


def review_facts_of(stars: int, publish_at: datetime | None) -> dict[str, object]:
    """A review's facts at this moment, as a notice keeps them (see :func:`review_facts_sql`)."""
    return {"stars": stars, "publish_at": publish_at.isoformat() if publish_at else None}


def review_facts_sql(stars: ColumnElement[int], publish_at: ColumnElement[datetime]) -> ColumnElement[str]:
    """:func:`review_facts` as a PostgreSQL expression giving the very JSON text the ORM writes for
    that dict (``json.dumps``: ``{"stars": 2, "publish_at": "2026-11-23T10:00:00.250000+00:00"}``),
    so a notice written by a bulk statement reads, renders and compares like any other."""
    iso = iso_utc_sql(publish_at)
    return cast(
        func.concat('{"stars": ', stars, ', "publish_at": ', func.coalesce('"' + iso + '"', "null"), "}", type_=String),
        JSON,
    )


def iso_utc_sql(moment: ColumnElement[datetime]) -> ColumnElement[str]:
    """``datetime.isoformat()`` of a UTC timestamptz on PostgreSQL: the fraction only when there is
    one (Python drops ``.000000``), and the offset ``+00:00`` (values are read back in UTC)."""
    utc = func.timezone("UTC", moment)
    return (
        func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS', type_=String)
        + case((func.date_trunc("second", moment) == moment, ""), else_=func.to_char(utc, ".US", type_=String))
        + "+00:00"
    )


def dedupe_key(kind: str, subject: str | int, recipient_id: int | None) -> str:
    # No account: mail to an address alone (an invitation); its subject names it.
    return f"{kind}:{subject}:{'to' if recipient_id is None else recipient_id}"


def dedupe_key_sql(kind: str, subject: ColumnElement, recipient_id: ColumnElement[int]) -> ColumnElement[str]:
    """:func:`dedupe_key` in SQL."""
    return func.concat(literal(f"{kind}:", String), subject, ":", recipient_id, type_=String)


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


def email_status_sql(kind: str, recipient_id: ColumnElement[int]) -> ColumnElement[str]:
    """:func:`_email_statuses` as a SQL expression for one recipient, from the same preference
    rule (:func:`reviewsite.services.preferences.delivery_sql`) and the same mapping."""
    from reviewsite.services.preferences import delivery_sql

    topic = topic_of(kind)
    if topic is None:
        return literal(EmailStatus.PENDING.value, String)
    return case(
        {delivery.value: status.value for delivery, status in _STATUS_FOR.items()},
        value=delivery_sql(topic, recipient_id),
    )


@dataclass(frozen=True)
class Fact:
    """One thing to tell some people: the review it is about (if any), its facts at this moment,
    and what makes it unique (``subject`` goes into the dedupe key)."""

    subject: str | int
    recipient_ids: tuple[int | None, ...]
    review_id: int | None = None
    facts: dict[str, object] = field(default_factory=dict)
    # Where the email goes instead of each recipient's account address (None: the account's).
    to_address: str | None = None


def notify_many(kind: str, facts: Iterable[Fact], *, now: datetime, delay: timedelta = timedelta(0)) -> list[int]:
    """Write every notification of ``kind`` for many facts; returns the new ids.

    Each recipient's preference for the kind's topic decides whether the email goes at once
    (``delay`` later), waits for the daily digest, or stays in the site. Every call runs the
    same few statements, built once with bound parameters (building one costs more than
    running it): on PostgreSQL one ``INSERT ... SELECT`` that reads the preferences as it
    writes (:func:`_write_postgres`), elsewhere a preference query and an INSERT
    (:func:`_write_portable`). Both write the same rows, in the same order."""
    facts = [fact for fact in facts if fact.recipient_ids]
    if not facts:
        return []
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    # Mail to an address (rare: claims, invitations) goes by the portable INSERT on every backend.
    write = _write_postgres if postgresql and not any(fact.to_address for fact in facts) else _write_portable
    ids = write(kind, facts, now=now, next_attempt_at=now + delay)
    remember_new(ids)
    return ids


def _write_portable(kind: str, facts: list[Fact], *, now: datetime, next_attempt_at: datetime) -> list[int]:
    """The preferences in one query, then the rows through one cached INSERT executed with a
    list of parameter sets (SQLAlchemy's insertmanyvalues makes that multi-row INSERTs with
    RETURNING), :data:`INSERT_CHUNK` rows at a time."""
    statuses = _email_statuses(kind, sorted({r for fact in facts for r in fact.recipient_ids}))
    rows = [
        {
            "dedupe_key": dedupe_key(kind, fact.subject, recipient_id),
            "kind": kind,
            "recipient_id": recipient_id,
            "review_id": fact.review_id,
            "facts": fact.facts,
            "created_at": now,
            "next_attempt_at": next_attempt_at,
            "email_status": statuses[recipient_id],
            "attempts": 0,
            "to_address": fact.to_address,
        }
        for fact in facts
        for recipient_id in fact.recipient_ids
    ]
    statement = _insert_rows(db.session.get_bind().dialect.name)
    ids: list[int] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        ids.extend(db.session.scalars(statement, rows[start : start + INSERT_CHUNK]))
    return ids


@functools.cache
def _insert_rows(dialect: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Notification.__table__
    return insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)


def _write_postgres(kind: str, facts: list[Fact], *, now: datetime, next_attempt_at: datetime) -> list[int]:
    """One round trip: the recipients go as parallel arrays (a handful of parameters however
    many rows, so no chunking), joined to their preferences by :func:`notify_from_select`."""
    pairs = [(fact, recipient_id) for fact in facts for recipient_id in fact.recipient_ids]
    # The JSON text the ORM would write for the dict (psycopg's default json.dumps), per fact.
    facts_json = {id(fact): json.dumps(fact.facts) for fact in facts}
    return list(
        db.session.scalars(
            _insert_select(kind),
            {
                "subjects": [str(fact.subject) for fact, _ in pairs],
                "recipient_ids": [recipient_id for _, recipient_id in pairs],
                "review_ids": [fact.review_id for fact, _ in pairs],
                "facts": [facts_json[id(fact)] for fact, _ in pairs],
                "now": now,
                "next_attempt_at": next_attempt_at,
            },
        )
    )


@functools.cache
def _insert_select(kind: str) -> Insert:
    """``INSERT ... SELECT ... FROM unnest(:subjects, :recipient_ids, :review_ids, :facts) WITH
    ORDINALITY ... ORDER BY position ON CONFLICT DO NOTHING RETURNING id``, once per kind."""
    recipients = (
        func.unnest(
            bindparam("subjects", type_=postgresql.ARRAY(Text)),
            bindparam("recipient_ids", type_=postgresql.ARRAY(Integer)),
            bindparam("review_ids", type_=postgresql.ARRAY(Integer)),
            bindparam("facts", type_=postgresql.ARRAY(Text)),
        )
        .table_valued(
            column("subject", Text),
            column("recipient_id", Integer),
            column("review_id", Integer),
            column("facts", Text),
            with_ordinality="position",
        )
        .render_derived(name="recipients")
    )
    c = recipients.c
    rows = select(c.subject, c.recipient_id, c.review_id, cast(c.facts, JSON).label("facts"), c.position).subquery(
        "rows"
    )
    return notify_from_select(
        kind,
        rows,
        order_by=[rows.c.position],
        now=bindparam("now", type_=Notification.created_at.type),
        next_attempt_at=bindparam("next_attempt_at", type_=Notification.next_attempt_at.type),
    ).execution_options(dml_strategy="raw")  # the parameters fill the SELECT: not an ORM bulk INSERT


def notify_from_select(
    kind: str,
    rows: FromClause,
    *,
    order_by: list[ColumnElement],
    now: datetime | ColumnElement[datetime],
    delay: timedelta = timedelta(0),
    next_attempt_at: ColumnElement[datetime] | None = None,
) -> Insert:
    """:func:`notify_many` as one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING id``
    (PostgreSQL), for a statement that finds its facts and recipients in SQL. ``rows`` has the
    columns ``subject``, ``review_id``, ``recipient_id`` and ``facts`` (JSON); rows are written
    in ``order_by`` order. ``now`` (and ``next_attempt_at``, which defaults to ``now + delay``) may
    be bound parameters, so that a statement built once serves every call. The caller executes
    it (or embeds it as a CTE) and must hand the returned ids to :func:`remember_new`, as
    :func:`notify_many` does, for after-commit dispatch."""
    c = rows.c
    if not isinstance(now, ColumnElement):
        now = literal(now, Notification.created_at.type)
    if next_attempt_at is None:
        next_attempt_at = now + delay if delay else now
    source = select(
        dedupe_key_sql(kind, c.subject, c.recipient_id),
        literal(kind, String),
        c.recipient_id,
        c.review_id,
        c.facts,
        now,
        next_attempt_at,
        email_status_sql(kind, c.recipient_id),
        literal(0),
    ).order_by(*order_by)
    return (
        postgresql.insert(Notification)
        .from_select(
            ["dedupe_key", "kind", "recipient_id", "review_id", "facts", "created_at", "next_attempt_at",
             "email_status", "attempts"],
            source,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.id)
    )


def remember_new(ids: list[int]) -> None:
    """Hand the ids of rows really inserted to the after-commit dispatch."""
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
    to_address: str | None = None,
) -> list[int]:
    """Queue one notification of ``kind`` per recipient about one fact; returns the new ids.
    With ``to_address`` the email goes to that address instead of the recipients' own (with no
    recipients: one notification for the address alone, which no account sees in the site)."""
    subject = fact if fact is not None else (review.id if review is not None else "")
    recipient_ids: tuple[int | None, ...] = tuple(r if isinstance(r, int) else r.id for r in recipients)
    if to_address is not None and not recipient_ids:
        recipient_ids = (None,)
    return notify_many(
        kind,
        [Fact(subject=subject, recipient_ids=recipient_ids,
              review_id=review.id if review is not None else None,
              facts={**review_facts(review), **(extra_facts or {})}, to_address=to_address)],
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
