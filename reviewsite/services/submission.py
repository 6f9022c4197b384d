"""What a submission writes: the review, its audit event, a "review_held" notice to each member
when the review is held, and last the business's rating and version.

:func:`write` runs these as four statements one after the other (:func:`_in_steps`), or on
PostgreSQL as one (:func:`_in_one_statement`): the same four, the event, the notices and the
rating written from the review's ``INSERT ... RETURNING`` (data-modifying ``WITH``), so that a
POST sends one statement where it would send four. The services' second PostgreSQL-only path,
kept because without it a submission under load managed about a sixth fewer a second than
before issue 11 (BENCHMARKS.md, "The submission in one statement");
``tests/services/test_submission.py`` holds it to the steps.

Who may submit, the values and the window are :func:`reviews.submit_review`'s to decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Select, String, bindparam, cast, exists, func, insert, literal, null, select

from reviewsite.database import built_once_per_database, insert_skipping_duplicates
from reviewsite.extensions import db
from reviewsite.models import Review, ReviewEvent, ReviewStatus
from reviewsite.services import listings
from reviewsite.services.errors import Conflict
from reviewsite.services.lifecycle import audit
from reviewsite.services.outbox import held_notices, notify, remember_new
from reviewsite.services.persistence import as_loaded, insert_unique

ALREADY_REVIEWED = "You have already reviewed this business."
# One review per author and business, guaranteed by the database's unique index.
_UNIQUE = ("business_id", "author_id")


def write(values: Mapping[str, Any], *, member_ids: list[int], details: dict[str, object], now: datetime) -> Review:
    """Write the review of ``values`` (column names to values; ``status`` says whether it is
    held) with its "submitted" event (by its author, with ``details``), the held notice to
    ``member_ids`` and the rating. A second review by the same author of the same business writes
    nothing and is refused (:class:`Conflict`); the transaction goes on unharmed."""
    if db.session.get_bind().dialect.name == "postgresql":
        return _in_one_statement(values, member_ids=member_ids, details=details, now=now)
    return _in_steps(values, member_ids=member_ids, details=details, now=now)


def _in_steps(values: Mapping[str, Any], *, member_ids: list[int], details: dict[str, object],
              now: datetime) -> Review:
    review = insert_unique(Review, values, unique=_UNIQUE, conflict_message=ALREADY_REVIEWED)
    audit(review, "submitted", actor_id=review.author_id, now=now, to_status=review.status, **details)
    if review.status is ReviewStatus.HELD:
        notify("review_held", member_ids, now=now, review=review)
    # Last: the business's row is the lock every writer of its reviews takes, so it is held
    # only from here to the commit, and submissions to one business queue for that long only.
    listings.adjust_rating(review.business_id, count=1, stars=review.stars)
    return review


def _in_one_statement(values: Mapping[str, Any], *, member_ids: list[int], details: dict[str, object],
                      now: datetime) -> Review:
    """PostgreSQL: the steps as one statement. A repeated submission inserts no review, so the
    event, the notices and the rating, all written from the insert's rows, write nothing
    either, and nothing comes back."""
    recipients = sorted(set(member_ids)) if values["status"] is ReviewStatus.HELD else []
    params = {**{f"new_{name}": value for name, value in values.items()}, "actor_id": values["author_id"],
              "details": details, "now": now, "recipient_ids": recipients,
              "business_id": values["business_id"], "count": 1, "stars": values["stars"]}
    row = db.session.execute(_one_statement(bool(recipients)), params).first()
    if row is None:
        raise Conflict(ALREADY_REVIEWED)
    review_id, notice_ids = row
    remember_new(sorted(notice_ids or ()))
    return as_loaded(Review, values, (review_id,))


# The columns a submission gives (reviews.submit_review); the rest take their table defaults.
_COLUMNS = ("business_id", "author_id", "stars", "title", "body", "status", "created_at", "held_at", "publish_at",
            "reminder_due_at", "published_at", "extended_seconds", "reminders_sent", "hold_choice")
_reviews, _events = Review.__table__, ReviewEvent.__table__


@built_once_per_database
def _one_statement(with_notices: bool) -> Select:
    """Built once per shape (a held review with members to tell, or not), every value a
    parameter: the review's columns as ``new_`` and the column's name, the event's
    ``actor_id``, ``details`` and ``now``, the notices' ``recipient_ids``, the rating's
    ``business_id``, ``count`` and ``stars``. Returns the review's id and the notices' ids (an
    array). The review's parameters are not named as its columns: SQLAlchemy would read a
    parameter named as a column of the business (``created_at``) as a value for the rating's
    ``UPDATE`` to set."""
    submitted = (
        insert_skipping_duplicates(_reviews, *_UNIQUE)
        .values({name: bindparam(f"new_{name}", type_=_reviews.c[name].type) for name in _COLUMNS})
        .returning(_reviews.c.id, _reviews.c.status, _reviews.c.stars, _reviews.c.publish_at)
        .cte("submitted")
    )
    event = _event_of(submitted).cte("event")
    rating = listings.rating_adjusted(exists(select(submitted.c.id))).cte("rating")
    if with_notices:
        notices = held_notices(submitted).cte("notices")
        notice_ids = select(func.array_agg(notices.c.id)).scalar_subquery()
    else:
        notice_ids = null()
    return select(submitted.c.id, notice_ids).add_cte(event, rating)


def _event_of(submitted: Any) -> Insert:
    """The "submitted" event that :func:`lifecycle.audit` writes, for the review of ``submitted``."""
    return insert(_events).from_select(
        ["review_id", "actor_id", "action", "from_status", "to_status", "details", "at"],
        select(submitted.c.id, bindparam("actor_id", type_=_events.c.actor_id.type), literal("submitted", String),
               cast(null(), String), submitted.c.status, bindparam("details", type_=_events.c.details.type),
               bindparam("now", type_=_events.c.at.type)),
    )
