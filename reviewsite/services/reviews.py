"""A review from submission on: submit, revise, extend the window, respond, withdraw, remove.

Rules enforced here (DESIGN.md): a low-star review is held for the make-it-right window; only the
reviewer extends it, within a total cap; the business can answer but never edit, hide, delay or
remove a review (invariant 4). How a held review becomes public is ``publication.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from reviewsite.models import Business, HoldChoice, Review, ReviewStatus, Side, User
from reviewsite.services import access, listings, members, publication, reminders, validation
from reviewsite.services.errors import Invalid, NotAllowed
from reviewsite.services.lifecycle import Action, audit, compare_and_set, require
from reviewsite.services.outbox import notify
from reviewsite.services.persistence import insert_unique
from reviewsite.services.window import window_policy

TITLE_MAX = 120
BODY_MAX = 5000
RESPONSE_MAX = 3000
ALREADY_REVIEWED = "You have already reviewed this business."


def submit_review(
    author: User, business: Business, *, stars: int, title: str, body: str, now: datetime,
    choice: HoldChoice | str | None = None,
) -> Review:
    """Whether the review goes to the business first (held until ``publish_at``) or is published
    at once is the window policy's: by the stars (``low_stars``), or by the author's ``choice``
    (``reviewer_choice``, where the choice is required and stored for the review's history).

    One review per author and business, guaranteed by the database: a second one (two tabs, a
    double click) writes nothing and is refused. A member of the business cannot review it."""
    if not author.is_confirmed:
        raise NotAllowed("Confirm your email address before writing a review.")
    stars = validation.stars(stars)
    title = validation.text(title, "title", TITLE_MAX)
    body = validation.text(body, "review", BODY_MAX)
    member_ids = members.member_ids(business.id)  # the check here and the notices below: one read
    if author.id in member_ids:
        raise NotAllowed("You cannot review a business you belong to.")
    policy = window_policy()
    choice = policy.choice(choice)
    held = policy.holds(stars, choice)
    review = insert_unique(
        Review,
        {
            "business_id": business.id,
            "author_id": author.id,
            "stars": stars,
            "title": title,
            "body": body,
            "status": ReviewStatus.HELD if held else ReviewStatus.PUBLISHED,
            "created_at": now,
            "held_at": now if held else None,
            "publish_at": now + policy.window if held else None,
            "reminder_due_at": policy.first_reminder_at(now) if held else None,
            "published_at": None if held else now,
            "extended_seconds": 0,
            "reminders_sent": 0,
            "hold_choice": choice,
        },
        unique=("business_id", "author_id"),
        conflict_message=ALREADY_REVIEWED,
    )
    audit(review, "submitted", actor_id=author.id, now=now, to_status=review.status, stars=stars,
          **({"choice": choice.value} if choice else {}))
    if held:
        notify("review_held", member_ids, now=now, review=review)
    # Last: the business's row is the lock every writer of its reviews takes, so it is held
    # only from here to the commit, and submissions to one business queue for that long only.
    listings.adjust_rating(business.id, count=1, stars=stars)
    return review


def save_response(review: Review, actor: User, body: str, *, now: datetime) -> None:
    """The business's public response: a private draft while held, public once published.
    An empty body removes the response."""
    access.require_side(actor, review, Side.BUSINESS)
    body = (body or "").strip()
    if len(body) > RESPONSE_MAX:
        raise Invalid(f"The response can be at most {RESPONSE_MAX} characters.")
    compare_and_set(
        review, Action.RESPOND, response_body=body or None, response_updated_at=now if body else None
    )
    audit(review, "response_saved" if body else "response_removed", actor_id=actor.id, now=now)
    if review.status is ReviewStatus.PUBLISHED:
        listings.changed([review.business_id])


def revise(review: Review, actor: User, *, stars: int, title: str, body: str, now: datetime) -> None:
    """The reviewer changes the review. Raising stars above the low-star line ends the window at
    once (``low_stars``; in reviewer-choice mode the author's choice, not the stars, keeps it
    held); a published review keeps its history (original stars, "edited")."""
    access.require_side(actor, review, Side.REVIEWER)
    require(review, Action.REVISE)
    stars = validation.stars(stars)
    title = validation.text(title, "title", TITLE_MAX)
    body = validation.text(body, "review", BODY_MAX)
    old_stars, was_status, choice = review.stars, review.status, review.hold_choice
    values: dict[str, object] = {"stars": stars, "title": title, "body": body}
    if stars != old_stars:
        values["stars_changed_at"] = now
        if review.original_stars is None:
            values["original_stars"] = old_stars
    if was_status is ReviewStatus.PUBLISHED:
        values["edited_at"] = now
    compare_and_set(review, Action.REVISE, Review.status == was_status, **values)
    if stars != old_stars:
        listings.adjust_rating(review.business_id, count=0, stars=stars - old_stars)
    else:
        listings.changed([review.business_id])
    event = audit(review, "revised", actor_id=actor.id, now=now, stars_from=old_stars, stars_to=stars)
    # One notice per revision, even two in the same millisecond (two tabs, a retried POST).
    notify("review_revised", members.member_ids(review.business_id), now=now, review=review,
           fact=f"{review.id}.e{event.id}")
    if was_status is ReviewStatus.HELD and not window_policy().keeps_holding(stars, choice):
        publication.release_now(review, actor, now=now)


def extension_left(review: Review) -> timedelta:
    return window_policy().max_extension - timedelta(seconds=review.extended_seconds)


def extend_window(review: Review, actor: User, *, hours: int, now: datetime) -> None:
    """Only the reviewer may give the business more time, and only up to the configured cap."""
    access.require_side(actor, review, Side.REVIEWER)
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
        reminder_due_at=reminders.next_after_extension(review, old_publish_at + extra),
    )
    audit(review, "extended", actor_id=actor.id, now=now, hours=hours)
    listings.changed([review.business_id])  # the placeholder shows the new release date
    notify("window_extended", members.member_ids(review.business_id), now=now, review=review,
           fact=f"{review.id}.{review.extended_seconds}")


def withdraw(review: Review, actor: User, *, now: datetime) -> None:
    """The reviewer takes the review down; its stars leave the aggregate."""
    access.require_side(actor, review, Side.REVIEWER)
    was_status, stars = review.status, review.stars
    compare_and_set(review, Action.WITHDRAW, Review.status == was_status,
                    status=ReviewStatus.WITHDRAWN, withdrawn_at=now, reminder_due_at=None)
    listings.adjust_rating(review.business_id, count=-1, stars=-stars)
    audit(review, "withdrawn", actor_id=actor.id, now=now, from_status=was_status, to_status=ReviewStatus.WITHDRAWN)
    notify("review_withdrawn", members.member_ids(review.business_id), now=now, review=review)


def remove(review: Review, moderator: User, *, reason: str, now: datetime, tell_author: bool = True) -> None:
    """A moderator removes a review on rating-neutral grounds, always with a statement of reasons.
    ``reason`` is the public line; ``tell_author=False`` when the author gets the full statement
    of reasons from the moderation decision instead (``services/decisions.py``)."""
    if not moderator.is_moderator:
        raise NotAllowed("Only a moderator can remove a review.")
    reason = validation.text(reason, "statement of reasons", 2000)
    was_status, stars = review.status, review.stars
    compare_and_set(review, Action.REMOVE, Review.status == was_status,
                    status=ReviewStatus.REMOVED, removed_at=now, removal_reason=reason, reminder_due_at=None)
    listings.adjust_rating(review.business_id, count=-1, stars=-stars)
    audit(review, "removed", actor_id=moderator.id, now=now, from_status=was_status, to_status=ReviewStatus.REMOVED)
    told = [review.author_id] if tell_author else []
    notify("review_removed", [*told, *members.member_ids(review.business_id)], now=now, review=review)


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
    listings.adjust_rating(review.business_id, count=1, stars=stars)
    audit(review, "restored", actor_id=moderator.id, now=now, from_status=ReviewStatus.REMOVED,
          to_status=values["status"])
