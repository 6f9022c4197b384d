"""How a complaint ended, in the reviewer's own words: marked resolved, and offers done.

Only the reviewer can say either (DESIGN.md: the business gets a fair chance, never the last
word). A remedy offer goes offered (``thread.offer_remedy``), accepted (``thread.accept_offer``)
and then done only when the reviewer confirms it was delivered (:func:`confirm_delivered`), so the
public history never says "refunded" on the business's word alone. Both show in the review's
public history and count in the make-it-right record (``services/record.py``), so each changes
the business's public page (``listings.changed``) in its transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from reviewsite.extensions import db
from reviewsite.models import Review, Side, ThreadMessage, User
from reviewsite.services import access, listings, members, thread
from reviewsite.services.errors import Invalid, InvalidTransition
from reviewsite.services.lifecycle import Action, audit, compare_and_set, require
from reviewsite.services.outbox import notify

NOTE_MAX = 500


def resolve(review: Review, actor: User, *, note: str | None, now: datetime) -> None:
    """The reviewer marks the complaint resolved, once, with an optional public note (shown
    with the review once it is public)."""
    access.require_side(actor, review, Side.REVIEWER)
    require(review, Action.RESOLVE)
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise Invalid(f"The note can be at most {NOTE_MAX} characters; yours has {len(note)}.")
    if review.resolved_at is not None:
        raise InvalidTransition("You have already marked this complaint resolved.")
    try:
        compare_and_set(review, Action.RESOLVE, Review.resolved_at.is_(None), resolved_at=now, resolution_note=note)
    except InvalidTransition:
        if review.resolved_at is not None:  # another tab got there first
            raise InvalidTransition("You have already marked this complaint resolved.") from None
        raise
    audit(review, "resolved", actor_id=actor.id, now=now, with_note=note is not None)
    listings.changed([review.business_id])
    notify("review_resolved", members.member_ids(review.business_id), now=now, review=review)


def confirm_delivered(message: ThreadMessage, actor: User, *, now: datetime) -> None:
    """The reviewer confirms that an offer they accepted was delivered: the offer is done."""
    review = thread.reviewers_offer(message, actor, Action.CONFIRM_DELIVERY)
    if message.accepted_at is None:
        raise InvalidTransition("You can only confirm an offer you have accepted.")
    result = db.session.execute(
        update(ThreadMessage)
        .where(ThreadMessage.id == message.id, ThreadMessage.accepted_at.is_not(None),
               ThreadMessage.delivered_at.is_(None))
        .values(delivered_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(message)
    if result.rowcount != 1:
        raise InvalidTransition("You have already confirmed that this offer was delivered.")
    audit(review, "remedy_delivered", actor_id=actor.id, now=now, remedy=message.remedy.value)
    listings.changed([review.business_id])
    notify("offer_delivered", members.member_ids(review.business_id), now=now, review=review,
           fact=f"{review.id}.{message.id}", extra_facts={"remedy": message.remedy.value})
