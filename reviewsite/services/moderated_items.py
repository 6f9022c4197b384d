"""What can be reported and moderated: a review, a business's response, a listing, a message or
offer in a private thread. One place says, for each kind, who may see and report it, whose it
is, who is affected by a decision about it, and what removing (or restoring) it does.

Removal never depends on the rating (invariant 9): nothing here reads the stars.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import (
    Business,
    Decision,
    DecisionStatus,
    ItemKind,
    Outcome,
    Review,
    ReviewStatus,
    Side,
    ThreadMessage,
    User,
)
from reviewsite.services import access, listings, members, reviews
from reviewsite.services.errors import InvalidTransition
from reviewsite.services.lifecycle import Action as ReviewAction
from reviewsite.services.lifecycle import audit, compare_and_set


@dataclass(frozen=True)
class Item:
    kind: ItemKind
    id: int
    business: Business
    review: Review | None = None
    message: ThreadMessage | None = None

    @property
    def key(self) -> str:
        return key_of(self.kind, self.id)

    @property
    def author_id(self) -> int | None:
        """The person who wrote it, when a person rather than the business as such did."""
        if self.kind is ItemKind.REVIEW:
            return self.review.author_id
        if self.kind is ItemKind.MESSAGE:
            return self.message.author_id
        return None

    @property
    def author_side(self) -> Side:
        if self.kind is ItemKind.REVIEW:
            return Side.REVIEWER
        if self.kind is ItemKind.MESSAGE:
            return self.message.side
        return Side.BUSINESS

    @property
    def is_offer(self) -> bool:
        return self.message is not None and self.message.remedy is not None

    @property
    def label(self) -> str:
        """How a statement of reasons names it (never its words: they may be private)."""
        name = self.business.name
        if self.kind is ItemKind.REVIEW:
            return f"a review of {name}"
        if self.kind is ItemKind.RESPONSE:
            return f"the response of {name} to a review"
        if self.kind is ItemKind.LISTING:
            return f"the listing of {name}"
        what = "an offer" if self.is_offer else "a message"
        if self.author_side is Side.BUSINESS:
            return f"{what} from {name} in a private thread"
        return f"{what} from a reviewer in a private thread with {name}"

    @property
    def title(self) -> str:
        """The label as a heading ("A review of Corner Cafe")."""
        return self.label[0].upper() + self.label[1:]

    @property
    def columns(self) -> dict[str, object]:
        """The item's columns as reports and decisions keep them."""
        return {
            "kind": self.kind, "target_key": self.key, "business_id": self.business.id,
            "review_id": self.review.id if self.review is not None else None,
            "message_id": self.message.id if self.message is not None else None,
            "author_id": self.author_id, "author_side": self.author_side,
        }


def key_of(kind: ItemKind | str, item_id: int) -> str:
    return f"{ItemKind(kind).value}:{item_id}"


def load(kind: str, item_id: int) -> Item | None:
    """The item, or None for an unknown kind or a missing (or foreign) id."""
    try:
        kind = ItemKind(kind)
    except ValueError:
        return None
    if kind is ItemKind.LISTING:
        business = db.session.get(Business, item_id)
        return Item(kind, item_id, business) if business is not None else None
    if kind is ItemKind.MESSAGE:
        message = db.session.get(ThreadMessage, item_id)
        if message is None:
            return None
        return Item(kind, item_id, message.review.business, review=message.review, message=message)
    review = db.session.get(Review, item_id)
    return Item(kind, item_id, review.business, review=review) if review is not None else None


def load_key(key: str) -> Item | None:
    kind, _, item_id = key.partition(":")
    return load(kind, int(item_id)) if item_id.isdigit() else None


def can_see(user: User | None, item: Item) -> bool:
    """Whether the item exists for this person (otherwise its report page is a 404): the public
    parts for anyone, a held review and a thread for its parties (and moderators) only."""
    if item.kind is ItemKind.LISTING:
        return True
    review = item.review
    # A withdrawn or removed review is no secret (its placeholder or its text was public): the
    # report page says why it cannot be reported rather than pretending it never existed.
    if item.kind is not ItemKind.MESSAGE and review.status is not ReviewStatus.HELD:
        return True
    return access.can_see_private(user, review)


def is_own(user: User, item: Item) -> bool:
    """One's own item, or one's own side's (a member reporting their business's response)."""
    if item.kind is ItemKind.REVIEW:
        return item.review.author_id == user.id
    if item.kind is ItemKind.MESSAGE:
        return access.side_of(user, item.review) is item.message.side
    return access.is_member(user, item.business)


def removal_in_force(item: Item) -> Decision | None:
    return db.session.scalar(
        select(Decision).where(Decision.target_key == item.key, Decision.outcome == Outcome.REMOVED,
                               Decision.status == DecisionStatus.IN_FORCE).order_by(Decision.id.desc()).limit(1)
    )


def check_reportable(item: Item) -> None:
    """Only what is there to see can be reported: not a withdrawn review, not what moderators
    already removed. A thread stays reportable whatever became of its review (pressure that led
    to a withdrawal is exactly what must be reportable)."""
    review = item.review
    if item.kind in (ItemKind.REVIEW, ItemKind.RESPONSE):
        if review.status is ReviewStatus.WITHDRAWN:
            raise InvalidTransition("This review was withdrawn by its author: there is nothing left to report.")
        if review.status is ReviewStatus.REMOVED:
            raise InvalidTransition("Our moderators have already removed this review.")
    if item.kind is ItemKind.RESPONSE and (review.status is not ReviewStatus.PUBLISHED or not review.response_body):
        raise InvalidTransition("There is no public response to report.")
    if removal_in_force(item) is not None:
        raise InvalidTransition("Our moderators have already removed this.")


def affected_ids(item: Item) -> list[int]:
    """Who a removal or a notice affects, and so who gets its statement of reasons and may
    appeal: the reviewer for their own words, every member for the business's."""
    if item.author_side is Side.REVIEWER:
        return [item.author_id]
    return members.member_ids(item.business.id)


def may_get_notice(item: Item) -> bool:
    """A public notice is for a business that pressed a reviewer in the thread."""
    return item.kind is ItemKind.MESSAGE and item.author_side is Side.BUSINESS


def outcomes_for(item: Item) -> list[Outcome]:
    """What a moderator may decide about this item."""
    return [Outcome.DISMISSED, Outcome.REMOVED, *([Outcome.NOTICE] if may_get_notice(item) else [])]


def remove(item: Item, decision: Decision, moderator: User, *, now: datetime) -> None:
    """Take the item down. A review leaves the average and the page (``reviews.remove``); a
    response is cleared (its words kept on the decision, for an appeal); a listing or a message
    is hidden by the decision itself. The public line is the rule's title."""
    from reviewsite.services.rules import rule_text

    line = rule_text(decision.rule).title
    if item.kind is ItemKind.REVIEW:
        if item.review.status not in (ReviewStatus.HELD, ReviewStatus.PUBLISHED):
            raise InvalidTransition("This review is no longer shown, so there is nothing to remove; dismiss instead.")
        reviews.remove(item.review, moderator, reason=line, now=now, tell_author=False)
    elif item.kind is ItemKind.RESPONSE:
        review = item.review
        if review.status is not ReviewStatus.PUBLISHED or not review.response_body:
            raise InvalidTransition("There is no public response any more, so there is nothing to remove; dismiss instead.")
        decision.snapshot = review.response_body
        compare_and_set(review, ReviewAction.RESPOND, response_body=None, response_updated_at=None)
        audit(review, "response_removed", actor_id=moderator.id, now=now, decision_id=decision.id)
        listings.changed([review.business_id])
    elif item.kind is ItemKind.LISTING:
        listings.changed([item.business.id])
    db.session.flush()


def restore(item: Item, decision: Decision, moderator: User, *, now: datetime) -> None:
    """Undo :func:`remove` after an appeal overturned it. A response comes back only if the
    business has not written another since."""
    if item.kind is ItemKind.REVIEW:
        reviews.restore(item.review, moderator, now=now)
    elif item.kind is ItemKind.RESPONSE:
        review = item.review
        if decision.snapshot and not review.response_body and review.status is ReviewStatus.PUBLISHED:
            compare_and_set(review, ReviewAction.RESPOND, Review.response_body.is_(None),
                            response_body=decision.snapshot, response_updated_at=now)
            audit(review, "response_restored", actor_id=moderator.id, now=now, decision_id=decision.id)
    if item.kind in (ItemKind.RESPONSE, ItemKind.LISTING):
        listings.changed([item.business.id])  # the removal line goes, whatever else happened
