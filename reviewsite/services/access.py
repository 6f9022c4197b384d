"""Who may see and do what with a review. Invariant 1 (private text reaches only the parties)
and invariant 4 (the business's powers are bounded) start here: every view and service asks."""

from __future__ import annotations

from reviewsite.models import Business, Review, Side, User
from reviewsite.services import members
from reviewsite.services.errors import NotAllowed


def _signed_in(user: User | None) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def is_member(user: User | None, business: Business | int) -> bool:
    if not _signed_in(user):
        return False
    business_id = business if isinstance(business, int) else business.id
    return members.is_member(user.id, business_id)


def side_of(user: User | None, review: Review) -> Side | None:
    """The party this user acts as for this review: reviewer, business, or none."""
    if not _signed_in(user):
        return None
    if review.author_id == user.id:
        return Side.REVIEWER
    if members.is_member(user.id, review.business_id):
        return Side.BUSINESS
    return None


def require_side(user: User, review: Review, *allowed: Side) -> Side:
    """The acting party, if it holds one of the powers ``allowed``; otherwise NotAllowed."""
    side = side_of(user, review)
    if side not in allowed:
        raise NotAllowed("You cannot do that with this review.")
    return side


def can_see_private(user: User | None, review: Review) -> bool:
    """The thread, a held review's words and the draft response: parties and moderators only."""
    if not _signed_in(user):
        return False
    return user.is_moderator or side_of(user, review) is not None
