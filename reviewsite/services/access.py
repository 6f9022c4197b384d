"""Who may see and do what with a review and a business. Invariant 1 (private text reaches only
the parties) and invariant 4 (the business's powers are bounded) start here: every view asks
these.

The one rule behind them: the business's side is its **verified** members, and a verified member
is a ``Membership`` row. Rows are written only when a claim is verified (``services.claims``) or
an invitation accepted (``services.team``), and deleted when a member is removed; a pending or
rejected claimant has a claim, never a membership. So every page, email and list that asks
through here, or reads ``Membership`` (``reviews.member_ids``, the inbox, the sweep's notices),
reaches verified members only, and a removed member loses access on their next request.
"""

from __future__ import annotations

from sqlalchemy import exists, select

from reviewsite.extensions import db
from reviewsite.models import Business, MemberRole, Membership, Review, Side, User
from reviewsite.services.errors import NotAllowed


def is_member(user: User | None, business: Business | int) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    business_id = business if isinstance(business, int) else business.id
    return bool(
        db.session.scalar(
            select(
                exists().where(Membership.business_id == business_id, Membership.user_id == user.id)
            )
        )
    )


def side_of(user: User | None, review: Review) -> Side | None:
    """The party this user acts as for this review: reviewer, business, or none."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if review.author_id == user.id:
        return Side.REVIEWER
    if is_member(user, review.business_id):
        return Side.BUSINESS
    return None


def can_see_private(user: User | None, review: Review) -> bool:
    """The thread, a held review's words and the draft response: parties and moderators only."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_moderator or side_of(user, review) is not None


def role_of(user: User | None, business: Business | int) -> MemberRole | None:
    """The user's role for the business if they are a verified member, else None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    business_id = business if isinstance(business, int) else business.id
    return db.session.scalar(
        select(Membership.role).where(Membership.business_id == business_id, Membership.user_id == user.id)
    )


def is_owner(user: User | None, business: Business | int) -> bool:
    """Owners manage the team and the listing's details; staff do not."""
    return role_of(user, business) is MemberRole.OWNER


def require_owner(user: User, business: Business | int) -> None:
    if not is_owner(user, business):
        raise NotAllowed("Only an owner of the business can do that.")


def require_moderator(user: User) -> None:
    if not getattr(user, "is_moderator", False):
        raise NotAllowed("Only a moderator can do that.")
