"""Who may see and do what with a review and a business. Invariant 1 (private text reaches only
the parties) and invariant 4 (the business's powers are bounded) start here: every view and
service asks.

The one rule behind them: the business's side is its **verified** members, and a verified member
is a ``Membership`` row (``services/members.py``). Rows are written only when a claim is verified
(``services.claims``) or an invitation accepted (``services.team``), and deleted when a member is
removed; a pending or rejected claimant has a claim, never a membership. So every page, email and
list that asks here or through ``members`` reaches verified members only, and a removed member
loses access on their next request.
"""

from __future__ import annotations

from reviewsite.models import Business, MemberRole, Review, Side, User
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


def role_of(user: User | None, business: Business | int) -> MemberRole | None:
    """The user's role for the business if they are a verified member, else None."""
    if not _signed_in(user):
        return None
    return members.role_of(user.id, business if isinstance(business, int) else business.id)


def is_owner(user: User | None, business: Business | int) -> bool:
    """Owners manage the team and the listing's details; staff do not."""
    return role_of(user, business) is MemberRole.OWNER


def require_owner(user: User, business: Business | int) -> None:
    if not is_owner(user, business):
        raise NotAllowed("Only an owner of the business can do that.")


def require_moderator(user: User) -> None:
    if not getattr(user, "is_moderator", False):
        raise NotAllowed("Only a moderator can do that.")
