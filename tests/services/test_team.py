"""The team: invitations (every state x every action), roles, removals, handing ownership on,
and the rule that a business always has an owner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import (
    BusinessEvent,
    Invitation,
    InvitationStatus,
    MemberRole,
    Membership,
    Notification,
    ThreadMessage,
)
from reviewsite.services import access, inbox, members, reviews, team, thread
from reviewsite.services.errors import Conflict, Invalid, InvalidTransition, NotAllowed
from tests.factories import BusinessFactory, MembershipFactory, UserFactory
from tests.helpers import START

P, A, R, E = (InvitationStatus.PENDING, InvitationStatus.ACCEPTED, InvitationStatus.REVOKED,
              InvitationStatus.EXPIRED)


@pytest.fixture
def shop(ctx):
    business = BusinessFactory(name="Corner Cafe")
    owner = MembershipFactory(business=business, user=UserFactory(display_name="Olive")).user
    return business, owner


def footprint() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Invitation, Membership, Notification, BusinessEvent))


def invitation_in(state, business, owner, clock):
    invitation = team.invite(business, owner, email="sam@example.com", role="staff", now=START)
    invitee = UserFactory(email="sam@example.com")
    if state is A:
        team.accept(invitation, invitee, email="sam@example.com", now=START)
    elif state is R:
        team.revoke(invitation, owner, now=START)
    elif state is E:
        clock.set(invitation.expires_at)
        assert team.expire_due(now=clock.now()) == 1
    db.session.refresh(invitation)
    assert invitation.status is state
    return invitation, invitee


EXPECTED = {"accept": ({P}, A), "revoke": ({P}, R)}


@pytest.mark.parametrize("state", list(InvitationStatus))
@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_every_invitation_state_and_action(shop, clock, state, action):
    business, owner = shop
    invitation, invitee = invitation_in(state, business, owner, clock)
    allowed, result = EXPECTED[action]
    if state is A and action == "accept":
        invitee = UserFactory()  # someone else trying the used link
    before = footprint()

    def act():
        if action == "accept":
            team.accept(invitation, invitee, email="sam@example.com", now=clock.now())
        else:
            team.revoke(invitation, owner, now=clock.now())

    if state in allowed:
        act()
        db.session.refresh(invitation)
        assert invitation.status is result
    else:
        with pytest.raises(InvalidTransition):
            act()
        db.session.refresh(invitation)
        assert invitation.status is state and footprint() == before


def test_an_invitation_to_an_address_with_no_account(shop):
    business, owner = shop
    invitation = team.invite(business, owner, email=" Sam@Example.com ", role="staff", now=START)
    assert invitation.email == "sam@example.com"
    note = db.session.scalar(select(Notification).where(Notification.kind == "team_invitation"))
    assert (note.recipient_id, note.to_address) == (None, "sam@example.com")
    assert note.facts["inviter"] == "Olive" and note.facts["role"] == "staff"


def test_an_invitation_to_an_account_is_in_its_notifications_too(shop):
    business, owner = shop
    sam = UserFactory(email="sam@example.com")
    team.invite(business, owner, email="sam@example.com", role="owner", now=START)
    note = db.session.scalar(select(Notification).where(Notification.kind == "team_invitation"))
    assert (note.recipient_id, note.to_address) == (sam.id, "sam@example.com")


def test_accepting_joins_with_the_role_tells_the_owners_and_brings_the_held_reviews(shop):
    business, owner = shop
    held = reviews.submit_review(UserFactory(), business, stars=2, title="t", body="b", now=START)
    invitation = team.invite(business, owner, email="sam@example.com", role="staff", now=START)
    sam = UserFactory(email="someone.else@example.com", display_name="Sam")  # any account may accept
    team.accept(invitation, sam, email="sam@example.com", now=START)
    assert access.role_of(sam, business) is MemberRole.STAFF
    assert [r.id for r in inbox.held_for_member(sam)] == [held.id]
    kinds = {(n.kind, n.recipient_id) for n in db.session.scalars(select(Notification))}
    assert ("review_held", sam.id) in kinds and ("member_joined", owner.id) in kinds
    assert ("member_joined", sam.id) not in kinds


@pytest.mark.parametrize("case,error,message", [
    ("staff invites", NotAllowed, "Only an owner"),
    ("bad address", Invalid, "valid email address"),
    ("already a member", Conflict, "already a member"),
    ("already invited", Conflict, "already has an invitation waiting"),
    ("unknown role", Invalid, "owner or staff"),
])
def test_bad_invitations_are_refused_clearly_and_write_nothing(shop, case, error, message):
    business, owner = shop
    actor, email, role = owner, "sam@example.com", "staff"
    if case == "staff invites":
        actor = MembershipFactory(business=business, role=MemberRole.STAFF).user
    elif case == "bad address":
        email = "sam at example"
    elif case == "already a member":
        MembershipFactory(business=business, user=UserFactory(email="sam@example.com"), role=MemberRole.STAFF)
    elif case == "already invited":
        team.invite(business, owner, email="sam@example.com", role="staff", now=START)
    elif case == "unknown role":
        role = "boss"
    before = footprint()
    with pytest.raises(error, match=message):
        team.invite(business, actor, email=email, role=role, now=START)
    assert footprint() == before


def test_an_expired_invitation_can_be_sent_again(shop, clock):
    business, owner = shop
    first = team.invite(business, owner, email="sam@example.com", role="staff", now=START)
    clock.set(first.expires_at + timedelta(seconds=1))
    second = team.invite(business, owner, email="sam@example.com", role="staff", now=clock.now())
    db.session.refresh(first)
    assert (first.status, second.status) == (E, P)


def test_accepting_needs_the_invitations_own_address_and_no_membership(shop):
    business, owner = shop
    invitation = team.invite(business, owner, email="sam@example.com", role="staff", now=START)
    with pytest.raises(InvalidTransition, match="not valid"):
        team.accept(invitation, UserFactory(), email="other@example.com", now=START)
    with pytest.raises(Conflict, match="already belong"):
        team.accept(invitation, owner, email="sam@example.com", now=START)


def test_a_business_always_has_an_owner(shop):
    business, owner = shop
    mine = team.membership_of(business, owner)
    staff = MembershipFactory(business=business, role=MemberRole.STAFF)
    for attempt in (lambda: team.remove_member(mine, owner, now=START),
                    lambda: team.change_role(mine, UserFactory(), "staff", now=START)):
        with pytest.raises((InvalidTransition, NotAllowed)):
            attempt()
    with pytest.raises(InvalidTransition, match="always has an owner"):
        team.remove_member(mine, owner, now=START)
    team.change_role(staff, owner, "owner", now=START)
    team.change_role(mine, owner, "staff", now=START)  # now there is another owner
    assert access.role_of(owner, business) is MemberRole.STAFF
    with pytest.raises(NotAllowed):
        team.change_role(staff, owner, "staff", now=START)  # staff manage nothing


def test_removing_a_member_ends_their_access_and_keeps_what_they_wrote(shop):
    business, owner = shop
    review = reviews.submit_review(UserFactory(), business, stars=2, title="t", body="b", now=START)
    remy = MembershipFactory(business=business, role=MemberRole.STAFF, user=UserFactory(display_name="Remy"))
    message = thread.reply(review, remy.user, "On it.", now=START)
    user = remy.user
    team.remove_member(remy, owner, now=START)
    assert not access.is_member(user, business) and not access.can_see_private(user, review)
    assert inbox.held_for_member(user) == []
    kept = db.session.get(ThreadMessage, message.id)
    assert (kept.author.display_name, kept.side.value) == ("Remy", "business")
    assert members.member_ids(business.id) == [owner.id]
    with pytest.raises(InvalidTransition, match="no longer a member"):
        team.remove_member(remy, owner, now=START)


def test_a_member_may_leave(shop):
    business, owner = shop
    staff = MembershipFactory(business=business, role=MemberRole.STAFF)
    user = staff.user
    team.remove_member(staff, user, now=START)
    assert not access.is_member(user, business)
    assert db.session.scalar(select(BusinessEvent.action).order_by(BusinessEvent.id.desc()).limit(1)) == "member_left"


def test_handing_ownership_over(shop):
    business, owner = shop
    staff = MembershipFactory(business=business, role=MemberRole.STAFF)
    with pytest.raises(Invalid, match="already an owner"):
        team.hand_over(team.membership_of(business, owner), owner, now=START)
    team.hand_over(staff, owner, now=START)
    assert access.role_of(staff.user, business) is MemberRole.OWNER
    assert access.role_of(owner, business) is MemberRole.STAFF
    assert access.is_member(owner, business)
