"""The review lifecycle: submit, talk, revise, extend, withdraw, release, publish, remove.

Rules enforced here (DESIGN.md): a low-star review is held for the make-it-right window; only the
reviewer extends, within a total cap; nobody can delay or suppress publication, and the business
can only release early; the system publishes at ``publish_at`` and never before.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, bindparam, exists, insert, literal, select, update
from sqlalchemy.dialects import postgresql

from reviewsite.extensions import db
from reviewsite.models import Business, Membership, Review, ReviewEvent, ReviewStatus, Side, User
from reviewsite.services import access, listings, reminders, sweep_postgres
from reviewsite.services.due import publish_due_statement
from reviewsite.services.errors import Conflict, Invalid, NotAllowed
from reviewsite.services.lifecycle import Action, compare_and_set, record, require
from reviewsite.services.outbox import Fact, notify, notify_many, remember_new, review_facts_of
from reviewsite.services.persistence import as_persistent, insert_unique
from reviewsite.services.settings import window_policy

TITLE_MAX = 120
BODY_MAX = 5000
RESPONSE_MAX = 3000


# Statements on the busiest paths are built once, on the tables: building an ORM statement
# costs more CPU than running it. Parameters are bound at execution.
_memberships = Membership.__table__
_MEMBER_IDS = (
    select(_memberships.c.user_id)
    .where(_memberships.c.business_id == bindparam("business_id"))
    .order_by(_memberships.c.id)
)
_businesses = Business.__table__
_ADJUST_RATING = (
    update(_businesses)
    .where(_businesses.c.id == bindparam("business_id"))
    .values(
        rating_count=_businesses.c.rating_count + bindparam("count"),
        rating_sum=_businesses.c.rating_sum + bindparam("stars"),
        listing_version=_businesses.c.listing_version + 1,
    )
)
_events = ReviewEvent.__table__
_RECORD_EVENT = insert(_events)
_reviews = Review.__table__
# A submission writes these columns; those with model defaults are given too, so that a row
# written by either path below is the same and the returned object has nothing expired.
_SUBMITTED_COLUMNS = ("business_id", "author_id", "stars", "title", "body", "status", "created_at", "held_at",
                      "publish_at", "reminder_due_at", "published_at", "extended_seconds", "reminders_sent")
# Bind names unlike any column name: the UPDATE below would take "created_at" as its own.
_new = {name: bindparam(f"new_{name}", type_=_reviews.c[name].type) for name in _SUBMITTED_COLUMNS}
_submitted = (
    postgresql.insert(_reviews)
    .from_select(
        list(_SUBMITTED_COLUMNS),
        # The member rule in the same statement: a member's review is not inserted.
        select(*_new.values()).where(
            ~exists().where(_memberships.c.business_id == _new["business_id"],
                            _memberships.c.user_id == _new["author_id"])
        ),
    )
    .on_conflict_do_nothing(index_elements=["business_id", "author_id"])
    .returning(_reviews.c.id, _reviews.c.business_id, _reviews.c.stars)
    .cte("submitted")
)
# PostgreSQL: the member rule, the review, its stars in the aggregate and its audit event in one
# statement (one round trip). The other parts read the insert's RETURNING, so a refused review
# (a member's, or a second one) writes nothing.
_SUBMIT_POSTGRES = (
    update(_businesses)
    .where(_businesses.c.id == _submitted.c.business_id)  # UPDATE business ... FROM submitted
    .values(
        rating_count=_businesses.c.rating_count + 1,
        rating_sum=_businesses.c.rating_sum + _submitted.c.stars,
        listing_version=_businesses.c.listing_version + 1,
    )
    .returning(_submitted.c.id)
    .add_cte(
        insert(_events)
        .from_select(
            ["review_id", "actor_id", "action", "to_status", "details", "at"],
            select(
                _submitted.c.id,
                bindparam("new_author_id", type_=_events.c.actor_id.type),
                literal("submitted", String),
                bindparam("event_to_status", type_=_events.c.to_status.type),
                bindparam("event_details", type_=_events.c.details.type),
                bindparam("new_created_at", type_=_events.c.at.type),
            ),
        )
        .cte("recorded")
    )
)
ALREADY_REVIEWED = "You have already reviewed this business."


def member_ids(business_id: int) -> list[int]:
    """The business's members, oldest membership first."""
    return list(db.session.scalars(_MEMBER_IDS, {"business_id": business_id}))


def check_text(value: str, field: str, maximum: int) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(f"The {field} cannot be empty.")
    if len(value) > maximum:
        raise Invalid(f"The {field} can be at most {maximum} characters.")
    return value


def _check_stars(stars: int) -> int:
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        raise Invalid("Stars must be a whole number from 1 to 5.")
    return stars


def _adjust_rating(business_id: int, count: int, stars: int) -> None:
    """Keep the business's aggregate in step, in the same transaction; its page changes too.
    (A loaded Business object is not refreshed, as before: read the aggregate from the row.)"""
    db.session.execute(_ADJUST_RATING, {"business_id": business_id, "count": count, "stars": stars})


def require_side(user: User, review: Review, *allowed: Side) -> Side:
    side = access.side_of(user, review)
    if side not in allowed:
        raise NotAllowed("You cannot do that with this review.")
    return side


def submit_review(
    author: User, business: Business, *, stars: int, title: str, body: str, now: datetime
) -> Review:
    """Low stars go to the business first (held until ``publish_at``); high stars publish at once.

    Few round trips, since this is the busiest write: the one-review-per-business rule is an
    ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (no savepoint), which on PostgreSQL also
    checks the member rule, counts the stars and writes the audit event, all in one statement.
    Refused input and refused authors write nothing."""
    if not author.is_confirmed:
        raise NotAllowed("Confirm your email address before writing a review.")
    stars = _check_stars(stars)
    title = check_text(title, "title", TITLE_MAX)
    body = check_text(body, "review", BODY_MAX)
    policy = window_policy()
    held = policy.holds(stars)
    review = _write_submission({
        "business_id": business.id,
        "author_id": author.id,
        "stars": stars,
        "title": title,
        "body": body,
        "status": ReviewStatus.HELD if held else ReviewStatus.PUBLISHED,
        "created_at": now,
        "held_at": now if held else None,
        "publish_at": now + policy.window if held else None,
        "reminder_due_at": reminders.first_reminder_at(now, policy.window) if held else None,
        "published_at": None if held else now,
        "extended_seconds": 0,
        "reminders_sent": 0,
    })
    if held:
        notify("review_held", member_ids(business.id), now=now, review=review)
    return review


def _write_submission(values: dict[str, Any]) -> Review:
    """Insert the review unless its author belongs to the business or already has a review of
    it, add its stars to the aggregate and write the "submitted" event: one statement on
    PostgreSQL, four elsewhere. A refusal writes nothing and says which rule refused."""
    business_id, author_id = values["business_id"], values["author_id"]
    to_status, details = values["status"].value, {"stars": values["stars"]}
    if db.session.get_bind().dialect.name == "postgresql":
        review_id = db.session.scalar(_SUBMIT_POSTGRES, {
            **{f"new_{name}": values[name] for name in _SUBMITTED_COLUMNS},
            "event_to_status": to_status, "event_details": details,
        })
        if review_id is None:  # refused: say why (rare, so one more query is fine)
            _refuse_member(author_id, business_id)
            raise Conflict(ALREADY_REVIEWED)
        return as_persistent(Review, values, id=review_id)
    _refuse_member(author_id, business_id)
    review = insert_unique(Review, values, unique=("business_id", "author_id"), conflict_message=ALREADY_REVIEWED)
    _adjust_rating(business_id, 1, review.stars)
    db.session.execute(_RECORD_EVENT, {"review_id": review.id, "actor_id": author_id, "action": "submitted",
                                       "from_status": None, "to_status": to_status, "details": details,
                                       "at": review.created_at})
    return review


def _refuse_member(author_id: int, business_id: int) -> None:
    if author_id in member_ids(business_id):
        raise NotAllowed("You cannot review a business you belong to.")


def publish(review: Review, *, now: datetime, released_by: Side, actor: User | None = None) -> None:
    """Held to published. The system may only do it once ``publish_at`` has come (invariant 2)."""
    conditions = []
    if released_by is Side.SYSTEM:
        conditions.append(Review.publish_at <= now)
    compare_and_set(
        review,
        Action.PUBLISH_DUE if released_by is Side.SYSTEM else Action.RELEASE,
        *conditions,
        status=ReviewStatus.PUBLISHED,
        published_at=now,
        released_by=released_by,
        reminder_due_at=None,
    )
    record(
        review,
        "published",
        actor_id=actor.id if actor else None,
        now=now,
        from_status=ReviewStatus.HELD,
        to_status=ReviewStatus.PUBLISHED,
        released_by=released_by.value,
    )
    listings.changed([review.business_id])
    notify("review_published", [review.author_id, *member_ids(review.business_id)], now=now, review=review)


def release_now(review: Review, actor: User, *, now: datetime) -> None:
    """Either party may end the window early; it is the only way to shorten it."""
    side = require_side(actor, review, Side.REVIEWER, Side.BUSINESS)
    publish(review, now=now, released_by=side, actor=actor)


def publish_due(*, now: datetime, limit: int = 500) -> list[int]:
    """The sweep: publish a batch of held reviews whose time has come, oldest first; returns
    their ids in ``publish_at`` order.

    Set-based, so a backlog costs a few statements per batch, not a few per review. The claim
    takes ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several sweeps share a backlog instead of
    fighting (SQLite's BEGIN IMMEDIATE serialises them), and the UPDATE's WHERE repeats the rules
    of :func:`publish`: still held, and ``publish_at`` has come (invariant 2). On PostgreSQL the
    whole batch (claim, publish, audit events, notifications) is one statement
    (:mod:`reviewsite.services.sweep_postgres`); elsewhere :func:`_publish_due_portable`.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        batch = sweep_postgres.publish_batch(now=now, limit=limit)
        listings.changed(batch.business_ids)
        remember_new(batch.notification_ids)
        published_ids = batch.published_ids
    else:
        published_ids = _publish_due_portable(now=now, limit=limit)
    # The rows changed behind the ORM's back: objects already loaded must read them again.
    if published_ids:
        ids = set(published_ids)
        for review in list(db.session.identity_map.values()):
            if isinstance(review, Review) and review.id in ids:
                db.session.expire(review)
    return published_ids


def _publish_due_portable(*, now: datetime, limit: int) -> list[int]:
    """The sweep's batch in a few portable statements: one UPDATE claims and publishes it, one
    INSERT writes the audit events, one (per chunk) the notifications, built in Python."""
    published = db.session.execute(
        publish_due_statement(now, limit).execution_options(synchronize_session=False)
    ).all()
    if not published:
        return []
    published = sorted(published, key=lambda row: (row.publish_at, row.id))
    db.session.execute(
        insert(ReviewEvent),
        [
            {"review_id": row.id, "actor_id": None, "action": "published", "from_status": "held",
             "to_status": "published", "details": dict(sweep_postgres.EVENT_DETAILS), "at": now}
            for row in published
        ],
    )
    listings.changed(row.business_id for row in published)
    members = members_by_business({row.business_id for row in published})
    notify_many(
        "review_published",
        [
            Fact(subject=row.id, review_id=row.id,
                 recipient_ids=(row.author_id, *members.get(row.business_id, ())),
                 facts=review_facts_of(row.stars, row.publish_at))
            for row in published
        ],
        now=now,
    )
    return [row.id for row in published]


def release_times_within(*, now: datetime, horizon: timedelta, limit: int) -> list[datetime]:
    """When the next held reviews fall due, up to ``horizon`` ahead (read from the sweep's index)."""
    return list(
        db.session.scalars(
            select(Review.publish_at)
            .where(Review.status == ReviewStatus.HELD, Review.publish_at > now, Review.publish_at <= now + horizon)
            .order_by(Review.publish_at)
            .limit(limit)
        )
    )


def members_by_business(business_ids: set[int]) -> dict[int, tuple[int, ...]]:
    found: dict[int, list[int]] = {}
    for business_id, user_id in db.session.execute(
        select(Membership.business_id, Membership.user_id)
        .where(Membership.business_id.in_(business_ids))
        .order_by(Membership.id)
    ):
        found.setdefault(business_id, []).append(user_id)
    return {business_id: tuple(users) for business_id, users in found.items()}


def save_response(review: Review, actor: User, body: str, *, now: datetime) -> None:
    """The business's public response: a private draft while held, public once published.
    An empty body removes the response."""
    require_side(actor, review, Side.BUSINESS)
    body = (body or "").strip()
    if len(body) > RESPONSE_MAX:
        raise Invalid(f"The response can be at most {RESPONSE_MAX} characters.")
    compare_and_set(
        review, Action.RESPOND, response_body=body or None, response_updated_at=now if body else None
    )
    record(review, "response_saved" if body else "response_removed", actor_id=actor.id, now=now)
    if review.status is ReviewStatus.PUBLISHED:
        listings.changed([review.business_id])


def revise(review: Review, actor: User, *, stars: int, title: str, body: str, now: datetime) -> None:
    """The reviewer changes the review. Raising stars above the low-star line ends the window at
    once; a published review keeps its history (original stars, "edited")."""
    require_side(actor, review, Side.REVIEWER)
    require(review, Action.REVISE)
    stars = _check_stars(stars)
    title = check_text(title, "title", TITLE_MAX)
    body = check_text(body, "review", BODY_MAX)
    old_stars, was_status = review.stars, review.status
    values: dict[str, object] = {"stars": stars, "title": title, "body": body}
    if stars != old_stars:
        values["stars_changed_at"] = now
        if review.original_stars is None:
            values["original_stars"] = old_stars
    if was_status is ReviewStatus.PUBLISHED:
        values["edited_at"] = now
    compare_and_set(review, Action.REVISE, Review.status == was_status, **values)
    if stars != old_stars:
        _adjust_rating(review.business_id, 0, stars - old_stars)
    else:
        listings.changed([review.business_id])
    event = record(review, "revised", actor_id=actor.id, now=now, stars_from=old_stars, stars_to=stars)
    # One notice per revision, even two in the same millisecond (two tabs, a retried POST).
    notify("review_revised", member_ids(review.business_id), now=now, review=review,
           fact=f"{review.id}.e{event.id}")
    if was_status is ReviewStatus.HELD and not window_policy().holds(stars):
        publish(review, now=now, released_by=Side.REVIEWER, actor=actor)


def extension_left(review: Review) -> timedelta:
    return window_policy().max_extension - timedelta(seconds=review.extended_seconds)


def extend_window(review: Review, actor: User, *, hours: int, now: datetime) -> None:
    """Only the reviewer may give the business more time, and only up to the configured cap."""
    require_side(actor, review, Side.REVIEWER)
    require(review, Action.EXTEND)
    if hours <= 0:
        raise Invalid("Extend by at least one hour.")
    extra = timedelta(hours=hours)
    if extra > extension_left(review):
        left = int(extension_left(review).total_seconds() // 3600)
        raise Invalid(f"The window can be extended by at most {left} more hours.")
    old_publish_at = review.publish_at
    assert old_publish_at is not None  # guaranteed by the held_has_publish_at constraint
    compare_and_set(
        review,
        Action.EXTEND,
        Review.publish_at == old_publish_at,
        Review.publish_at > now,
        publish_at=old_publish_at + extra,
        extended_seconds=review.extended_seconds + int(extra.total_seconds()),
        reminder_due_at=reminders.next_reminder_after_extension(review, old_publish_at + extra),
    )
    record(review, "extended", actor_id=actor.id, now=now, hours=hours)
    listings.changed([review.business_id])  # the placeholder shows the new release date
    notify("window_extended", member_ids(review.business_id), now=now, review=review,
           fact=f"{review.id}.{review.extended_seconds}")


def withdraw(review: Review, actor: User, *, now: datetime) -> None:
    """The reviewer takes the review down; its stars leave the aggregate."""
    require_side(actor, review, Side.REVIEWER)
    was_status, stars = review.status, review.stars
    compare_and_set(review, Action.WITHDRAW, Review.status == was_status,
                    status=ReviewStatus.WITHDRAWN, withdrawn_at=now, reminder_due_at=None)
    _adjust_rating(review.business_id, -1, -stars)
    record(review, "withdrawn", actor_id=actor.id, now=now, from_status=was_status,
           to_status=ReviewStatus.WITHDRAWN)
    notify("review_withdrawn", member_ids(review.business_id), now=now, review=review)


def remove(review: Review, moderator: User, *, reason: str, now: datetime, tell_author: bool = True) -> None:
    """A moderator removes a review on rating-neutral grounds, always with a statement of reasons.
    ``reason`` is the public line; ``tell_author=False`` when the author gets the full statement
    of reasons from the moderation decision instead (``services/decisions.py``)."""
    if not moderator.is_moderator:
        raise NotAllowed("Only a moderator can remove a review.")
    reason = check_text(reason, "statement of reasons", 2000)
    was_status, stars = review.status, review.stars
    compare_and_set(review, Action.REMOVE, Review.status == was_status,
                    status=ReviewStatus.REMOVED, removed_at=now, removal_reason=reason, reminder_due_at=None)
    _adjust_rating(review.business_id, -1, -stars)
    record(review, "removed", actor_id=moderator.id, now=now, from_status=was_status,
           to_status=ReviewStatus.REMOVED)
    told = [review.author_id] if tell_author else []
    notify("review_removed", [*told, *member_ids(review.business_id)], now=now, review=review)


def restore(review: Review, moderator: User, *, now: datetime) -> None:
    """An appeal overturned a removal: the review is shown again and its stars count again. A
    review removed while held goes back into its window if the window is still open, and is
    published now if the window ended meanwhile (invariant 3: nothing stays private forever)."""
    if not moderator.is_moderator:
        raise NotAllowed("Only a moderator can restore a review.")
    stars = review.stars
    if review.published_at is not None:
        values: dict[str, object] = {"status": ReviewStatus.PUBLISHED}
    elif review.publish_at is not None and review.publish_at > now:
        values = {"status": ReviewStatus.HELD}
    else:
        values = {"status": ReviewStatus.PUBLISHED, "published_at": now, "released_by": Side.SYSTEM}
    compare_and_set(review, Action.RESTORE, removed_at=None, removal_reason=None, **values)
    _adjust_rating(review.business_id, 1, stars)
    record(review, "restored", actor_id=moderator.id, now=now, from_status=ReviewStatus.REMOVED,
           to_status=values["status"])
