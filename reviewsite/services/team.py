"""The team of a business: invitations by email, roles, removals, handing ownership on.

Rules enforced here (DESIGN.md, issue 12): only owners manage the team; an invitation is a
signed, expiring, single-use link to an address that may have no account yet; a business always
has at least one owner; a removed member loses their membership at once (every request asks
``access``), while what they wrote stays, attributed to them. Every change takes the business
row's lock first (``FOR UPDATE`` on PostgreSQL; SQLite's write transaction serialises anyway),
so two owners demoting each other at the same moment cannot leave the business without one.

Invitations move through :data:`INVITATIONS`: pending -> accepted / revoked / expired.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from reviewsite.extensions import db
from reviewsite.models import (
    Business,
    Invitation,
    InvitationStatus,
    MemberRole,
    Membership,
    Review,
    ReviewStatus,
    User,
)
from reviewsite.services import access, accounts, business_events
from reviewsite.services.errors import Conflict, Invalid, InvalidTransition, NotAllowed
from reviewsite.services.listing_details import normalise_address
from reviewsite.services.outbox import notify, notify_held
from reviewsite.services.persistence import insert_unique
from reviewsite.services.transitions import Transitions

P, A, R, E = (InvitationStatus.PENDING, InvitationStatus.ACCEPTED, InvitationStatus.REVOKED,
              InvitationStatus.EXPIRED)
INVITATIONS = Transitions(
    model=Invitation,
    allowed_from={"accept": frozenset({P}), "revoke": frozenset({P}), "expire": frozenset({P})},
    by_state={
        P: "This invitation has expired. Ask the owner for a new one.",
        A: "This invitation has already been used.",
        R: "This invitation was withdrawn by the business.",
        E: "This invitation has expired. Ask the owner for a new one.",
    },
)
LAST_OWNER = "A business always has an owner: make someone else an owner first."


def lock(business_id: int) -> None:
    """Serialise team changes of one business (see the module docstring)."""
    db.session.execute(select(Business.id).where(Business.id == business_id).with_for_update())


def _owner_count(business_id: int) -> int:
    return db.session.scalar(select(func.count(Membership.id)).where(
        Membership.business_id == business_id, Membership.role == MemberRole.OWNER)) or 0


GONE = "That person is no longer a member of the team."


def _reload(membership: Membership) -> Membership:
    """The row as it is now, under the lock (another owner may have changed or removed it)."""
    fresh = db.session.scalar(select(Membership).where(Membership.id == membership.id)
                              .execution_options(populate_existing=True))
    if fresh is None:
        raise InvalidTransition(GONE)
    return fresh


def _role(value: MemberRole | str) -> MemberRole:
    try:
        return MemberRole(value)
    except ValueError as exc:
        raise Invalid("Choose owner or staff.") from exc


# -- reading -------------------------------------------------------------------------------------


def members_of(business: Business) -> list[Membership]:
    """Owners first, then staff, each in the order they joined."""
    return list(db.session.scalars(
        select(Membership).where(Membership.business_id == business.id)
        .order_by(Membership.role != MemberRole.OWNER, Membership.created_at, Membership.id)
    ))


def pending_invitations(business: Business, *, now: datetime) -> list[Invitation]:
    return list(db.session.scalars(
        select(Invitation).where(Invitation.business_id == business.id, Invitation.status == P,
                                 Invitation.expires_at > now)
        .order_by(Invitation.created_at, Invitation.id)
    ))


def member_of(business: Business, membership_id: int) -> Membership | None:
    """A membership of this business by id; another business's (or a removed one) is None."""
    membership = db.session.get(Membership, membership_id)
    return membership if membership is not None and membership.business_id == business.id else None


def invitation_of(business: Business, invitation_id: int) -> Invitation | None:
    invitation = db.session.get(Invitation, invitation_id)
    return invitation if invitation is not None and invitation.business_id == business.id else None


# -- joining -------------------------------------------------------------------------------------


def add_member(business: Business, user: User, role: MemberRole, *, now: datetime, via: str,
               actor_id: int | None) -> Membership:
    """Make ``user`` a verified member (a claim verified, an invitation accepted): an existing
    member keeps their row and is made owner if ``role`` is owner. The new member hears of every
    review still held, as members did when it was submitted ("review_held"; its dedupe key makes
    a repeat harmless), and the inbox shows them at once."""
    existing = db.session.scalar(select(Membership).where(
        Membership.business_id == business.id, Membership.user_id == user.id))
    if existing is not None:
        if role is MemberRole.OWNER and existing.role is not MemberRole.OWNER:
            existing.role = MemberRole.OWNER
            db.session.flush()
        membership = existing
    else:
        membership = insert_unique(Membership, {"business_id": business.id, "user_id": user.id, "role": role,
                                                "created_at": now},
                                   unique=("business_id", "user_id"), conflict_message=f"You already belong to {business.name}.")
    business_events.audit(business.id, "member_added", actor_id=actor_id, subject_id=user.id, now=now,
                           role=membership.role.value, via=via)
    _tell_of_held_reviews(business.id, user.id, now=now)
    return membership


def _tell_of_held_reviews(business_id: int, user_id: int, *, now: datetime) -> None:
    held = db.session.scalars(
        select(Review.id).where(Review.business_id == business_id, Review.status == ReviewStatus.HELD)
    ).all()
    notify_held(list(held), user_id, now=now)


# -- invitations ---------------------------------------------------------------------------------


def invite(business: Business, owner: User, *, email: str, role: MemberRole | str, now: datetime) -> Invitation:
    """An owner invites an address; the mail goes to it whether or not it has an account."""
    access.require_owner(owner, business)
    email = normalise_address(email)
    role = _role(role)
    account = accounts.find_by_email(email)
    if account is not None and access.is_member(account, business):
        raise Conflict(f"{email} is already a member of the team.")
    if db.session.scalar(select(Invitation.id).where(
            Invitation.business_id == business.id, Invitation.email == email, Invitation.status == P,
            Invitation.expires_at > now)) is not None:
        raise Conflict(f"{email} already has an invitation waiting. Withdraw it to send a new one.")
    # A pending one past its time is expired now, so that the new one may be written.
    _expire(Invitation.business_id == business.id, Invitation.email == email, now=now)
    lifetime = timedelta(seconds=current_app.config["INVITATION_MAX_AGE_SECONDS"])
    invitation = insert_unique(
        Invitation, {"business_id": business.id, "email": email, "role": role, "status": P,
                     "invited_by_id": owner.id, "created_at": now, "expires_at": now + lifetime},
        unique=("business_id", "email"), where="status = 'pending'",
        conflict_message=f"{email} already has an invitation waiting.")
    business_events.audit(business.id, "invited", actor_id=owner.id, now=now, invitation=invitation.id,
                           role=role.value)
    notify("team_invitation", [account] if account is not None else [], now=now, fact=invitation.id,
           to_address=email,
           extra_facts={"invitation": invitation.id, "email": email, "business": business.name,
                        "slug": business.slug, "role": role.value, "inviter": owner.display_name,
                        "expires_at": invitation.expires_at.isoformat()})
    return invitation


def revoke(invitation: Invitation, owner: User, *, now: datetime) -> None:
    access.require_owner(owner, invitation.business_id)
    INVITATIONS.compare_and_set(invitation, "revoke", status=R, decided_at=now)
    business_events.audit(invitation.business_id, "invitation_revoked", actor_id=owner.id, now=now,
                           invitation=invitation.id)


def accept(invitation: Invitation, user: User, *, email: str, now: datetime) -> Membership:
    """Whoever follows the link (signed up or logged in) joins with the invitation's role, once.
    ``email`` is the address the token names: a link made for another invitation's address is
    refused."""
    if email != invitation.email:
        raise InvalidTransition("This invitation link is not valid.")
    if invitation.status_at(now) is E:
        raise InvalidTransition(INVITATIONS.by_state[E])
    business = invitation.business
    lock(business.id)
    if access.is_member(user, business):
        raise Conflict(f"You already belong to {business.name}.")
    INVITATIONS.compare_and_set(invitation, "accept", Invitation.expires_at > now, status=A, decided_at=now,
                                accepted_by_id=user.id)
    membership = add_member(business, user, invitation.role, now=now, via="invitation",
                            actor_id=user.id)
    owners = [m.user_id for m in members_of(business) if m.role is MemberRole.OWNER and m.user_id != user.id]
    notify("member_joined", owners, now=now, fact=invitation.id,
           extra_facts={"business": business.name, "slug": business.slug, "member": user.display_name,
                        "role": invitation.role.value})
    return membership


def _expire(*conditions, now: datetime) -> int:
    """Pending invitations past their time become expired (they already read so), with their
    audit entries; returns how many."""
    rows = db.session.execute(
        update(Invitation).where(Invitation.status == P, Invitation.expires_at <= now, *conditions)
        .values(status=E, decided_at=now).returning(Invitation.id, Invitation.business_id)
        .execution_options(synchronize_session=False)
    ).all()
    for invitation_id, business_id in rows:
        business_events.audit(business_id, "invitation_expired", actor_id=None, now=now, invitation=invitation_id)
    return len(rows)


def expire_due(*, now: datetime) -> int:
    """The sweep over every business."""
    return _expire(now=now)


# -- roles and removals --------------------------------------------------------------------------


def change_role(membership: Membership, owner: User, role: MemberRole | str, *, now: datetime) -> None:
    role = _role(role)
    access.require_owner(owner, membership.business_id)
    lock(membership.business_id)
    membership = _reload(membership)
    if membership.role is role:
        return
    if membership.role is MemberRole.OWNER and _owner_count(membership.business_id) <= 1:
        raise InvalidTransition(LAST_OWNER)
    old = membership.role
    membership.role = role
    db.session.flush()
    business_events.audit(membership.business_id, "role_changed", actor_id=owner.id, subject_id=membership.user_id,
                           now=now, role_from=old.value, role_to=role.value)


def remove_member(membership: Membership, actor: User, *, now: datetime) -> None:
    """An owner removes a member, or a member leaves. Their messages and offers stay in the
    threads, under their name; from their next request they see nothing private."""
    if membership.user_id != actor.id:
        access.require_owner(actor, membership.business_id)
    lock(membership.business_id)
    membership = _reload(membership)
    if membership.role is MemberRole.OWNER and _owner_count(membership.business_id) <= 1:
        raise InvalidTransition(LAST_OWNER)
    business_id, user_id, role = membership.business_id, membership.user_id, membership.role
    db.session.delete(membership)
    db.session.flush()
    business_events.audit(business_id, "member_removed" if user_id != actor.id else "member_left",
                           actor_id=actor.id, subject_id=user_id, now=now, role=role.value)


def hand_over(membership: Membership, owner: User, *, now: datetime) -> None:
    """The acting owner makes another member the owner and becomes staff."""
    access.require_owner(owner, membership.business_id)
    if membership.user_id == owner.id:
        raise Invalid("You are already an owner. Choose another member.")
    lock(membership.business_id)
    membership = _reload(membership)
    mine = db.session.scalar(select(Membership).where(
        Membership.business_id == membership.business_id, Membership.user_id == owner.id))
    if mine is None or mine.role is not MemberRole.OWNER:
        raise NotAllowed("Only an owner of the business can do that.")
    membership.role = MemberRole.OWNER
    mine.role = MemberRole.STAFF
    db.session.flush()
    business_events.audit(membership.business_id, "ownership_handed_over", actor_id=owner.id,
                           subject_id=membership.user_id, now=now)


def membership_of(business: Business, user: User) -> Membership | None:
    return db.session.scalar(select(Membership).where(
        Membership.business_id == business.id, Membership.user_id == user.id))
