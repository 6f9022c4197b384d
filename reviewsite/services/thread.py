"""The private thread of a held review: messages both ways and the business's remedy offers.

An offer is structured (refund, redo, credit, apology, with a note) and is never conditioned on
changing or removing the review: accepting it changes nothing about the review or its window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update

from reviewsite.extensions import db
from reviewsite.models import RemedyKind, Review, Side, ThreadMessage, User
from reviewsite.services import access, conditions, listings, members, reports, validation
from reviewsite.services.errors import InvalidTransition, NotAllowed
from reviewsite.services.lifecycle import Action, audit, compare_and_set, require
from reviewsite.services.outbox import notify, notify_gathered

MESSAGE_MAX = 3000


def _post(review: Review, actor: User, body: str, now: datetime, remedy: RemedyKind | None = None,
          send_anyway: bool = False) -> ThreadMessage:
    side = access.require_side(actor, review, Side.REVIEWER, Side.BUSINESS)
    require(review, Action.REPLY)
    body = validation.text(body, "message", MESSAGE_MAX)
    # Offers may never depend on the review: the business is stopped before sending, and what it
    # sends anyway is flagged to the moderators (services/conditions.py, services/reports.py).
    found = conditions.find(body) if side is Side.BUSINESS else []
    if found and not send_anyway:
        raise conditions.ConditionLanguage(found, offer=remedy is not None)
    message = ThreadMessage(review_id=review.id, author_id=actor.id, side=side, body=body,
                            created_at=now, remedy=remedy)
    db.session.add(message)
    if side is Side.BUSINESS and review.first_business_reply_at is None:
        # Someone answered: no more reminders (they are for a business that has not).
        compare_and_set(review, Action.REPLY, Review.first_business_reply_at.is_(None),
                        first_business_reply_at=now, reminder_due_at=None)
    db.session.flush()
    if found:
        reports.flag_condition(message, found, now=now)
    return message


def reply(review: Review, actor: User, body: str, *, now: datetime, send_anyway: bool = False) -> ThreadMessage:
    """A message in the private thread; the other side hears of it, a burst as one email."""
    message = _post(review, actor, body, now, send_anyway=send_anyway)
    others = [review.author_id] if message.side is Side.BUSINESS else members.member_ids(review.business_id)
    notify_gathered("thread_message", others, now=now, review=review, fact=f"{review.id}.{message.id}",
                    window=timedelta(seconds=current_app.config["MESSAGE_GATHER_SECONDS"]))
    return message


def offer_remedy(review: Review, actor: User, remedy: RemedyKind, note: str, *, now: datetime,
                 send_anyway: bool = False) -> ThreadMessage:
    """Only the business offers; the reviewer hears of an offer at once (no gathering)."""
    if access.require_side(actor, review, Side.REVIEWER, Side.BUSINESS) is not Side.BUSINESS:
        raise NotAllowed("Only the business can make an offer.")
    message = _post(review, actor, note, now, remedy=RemedyKind(remedy), send_anyway=send_anyway)
    audit(review, "remedy_offered", actor_id=actor.id, now=now, remedy=message.remedy.value)
    notify("remedy_offer", [review.author_id], now=now, review=review, fact=f"{review.id}.{message.id}",
           extra_facts={"remedy": message.remedy.value})
    return message


def reviewers_offer(message: ThreadMessage, actor: User, action: Action) -> Review:
    """The offer's review, if ``actor`` is its reviewer (only they accept an offer or say it was
    delivered), the review allows ``action`` and the message is an offer."""
    review = message.review
    access.require_side(actor, review, Side.REVIEWER)
    require(review, action)
    if message.remedy is None:
        raise InvalidTransition("That message is not an offer.")
    return review


def accept_offer(message: ThreadMessage, actor: User, *, now: datetime) -> None:
    """The reviewer accepts an offer, once, while the review is still in its window."""
    review = reviewers_offer(message, actor, Action.REPLY)
    result = db.session.execute(
        update(ThreadMessage)
        .where(ThreadMessage.id == message.id, ThreadMessage.accepted_at.is_(None))
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvalidTransition("You have already accepted this offer.")
    db.session.expire(message)
    audit(review, "remedy_accepted", actor_id=actor.id, now=now, remedy=message.remedy.value)
    # Accepted offers are in the public history (and a held review past its publish_at reads as
    # published before the sweep): the page moves with them.
    listings.changed([review.business_id])
    notify("offer_accepted", members.member_ids(review.business_id), now=now, review=review,
           fact=f"{review.id}.{message.id}", extra_facts={"remedy": message.remedy.value})
