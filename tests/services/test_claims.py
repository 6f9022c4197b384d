"""Claims: the transition table (every state x every action), the ways to prove it, and what a
verified claim does (the claimant becomes owner, the held reviews reach them at once)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import (
    Business,
    BusinessClaim,
    BusinessEvent,
    ClaimMethod,
    ClaimStatus,
    MemberRole,
    Membership,
    Notification,
)
from reviewsite.services import access, businesses, claims, inbox, reviews
from reviewsite.services.errors import Conflict, Invalid, InvalidTransition, NotAllowed
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import START

P, V, R, E, W = (ClaimStatus.PENDING, ClaimStatus.VERIFIED, ClaimStatus.REJECTED, ClaimStatus.EXPIRED,
                 ClaimStatus.WITHDRAWN)
ADDRESS = "olive@cornercafe.example"


def listing(lister=None, **details):
    lister = lister or UserFactory()
    values = {"name": "Corner Cafe", "category": "Cafe", "city": "Leeds", "address": "1 Market St",
              "description": "", "website": "https://www.cornercafe.example", "contact_email": "hello@cornercafe.example",
              "despite_duplicates": True, **details}
    return businesses.create_business(lister, now=START, **values)


def footprint() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (BusinessClaim, Membership, Notification, BusinessEvent))


# -- the transition table ------------------------------------------------------------------------

# action -> the states it may start from (and all lead to the state named), written from the issue.
EXPECTED = {
    "verify_by_link": ({P}, V),
    "approve": ({P}, V),
    "reject": ({P}, R),
    "withdraw": ({P}, W),
    "resend_link": ({P}, P),
}


def claim_in(state: ClaimStatus, clock):
    business = listing()
    claimant = UserFactory()
    claim = claims.start(business, claimant, method=ClaimMethod.WEBSITE_EMAIL, email=ADDRESS, now=START)
    moderator = UserFactory(moderator=True)
    if state is V:
        claims.verify_by_link(claim, claimant, email=ADDRESS, now=START)
    elif state is R:
        claims.reject(claim, moderator, reason="No proof.", now=START)
    elif state is W:
        claims.withdraw(claim, claimant, now=START)
    elif state is E:
        clock.set(claim.expires_at + timedelta(seconds=1))
        assert claims.expire_due(now=clock.now()) == 1
    db.session.refresh(claim)
    assert claim.status is state
    return claim, claimant, moderator


def perform(action: str, claim, claimant, moderator, now) -> None:
    if action == "verify_by_link":
        claims.verify_by_link(claim, claimant, email=ADDRESS, now=now)
    elif action == "approve":
        claims.approve(claim, moderator, reason="The lease shows it.", now=now)
    elif action == "reject":
        claims.reject(claim, moderator, reason="No proof.", now=now)
    elif action == "withdraw":
        claims.withdraw(claim, claimant, now=now)
    elif action == "resend_link":
        claims.resend_link(claim, claimant, now=now)


@pytest.mark.parametrize("state", list(ClaimStatus))
@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_every_state_and_action(ctx, clock, state, action):
    claim, claimant, moderator = claim_in(state, clock)
    allowed, result = EXPECTED[action]
    before = footprint()
    if state in allowed:
        perform(action, claim, claimant, moderator, clock.now())
        db.session.refresh(claim)
        assert claim.status is result
    else:
        with pytest.raises(InvalidTransition):
            perform(action, claim, claimant, moderator, clock.now())
        db.session.refresh(claim)
        assert claim.status is state
        assert footprint() == before, "a refused action writes nothing"


# -- starting a claim: the ways, and the refusals ------------------------------------------------


def test_a_link_to_an_address_at_the_website_domain(ctx):
    business, claimant = listing(), UserFactory(display_name="Olive")
    claim = claims.start(business, claimant, method="website_email", email="Olive@Kitchen.CornerCafe.example",
                         now=START)
    assert (claim.status, claim.email) == (P, "olive@kitchen.cornercafe.example")
    assert not access.is_member(claimant, business), "a claimant is nobody until verified"
    note = db.session.scalar(select(Notification).where(Notification.kind == "claim_link"))
    assert (note.recipient_id, note.to_address) == (claimant.id, "olive@kitchen.cornercafe.example")
    assert note.facts["business"] == "Corner Cafe" and note.facts["claimant"] == "Olive"


def test_the_contact_address_route_is_not_for_whoever_typed_it(ctx):
    lister = UserFactory()
    business = listing(lister)
    assert claims.options_for(business, lister).contact_email is None
    with pytest.raises(Invalid):
        claims.start(business, lister, method="contact_email", now=START)
    someone = UserFactory()
    claim = claims.start(business, someone, method="contact_email", now=START)
    assert claim.email == "hello@cornercafe.example"


@pytest.mark.parametrize("case,error,message", [
    ("unconfirmed", NotAllowed, "Confirm your email address"),
    ("member", Conflict, "already belong"),
    ("second pending", Conflict, "already have a claim"),
    ("other domain", Invalid, "Give an address at cornercafe.example"),
    ("look-alike domain", Invalid, "Give an address at cornercafe.example"),
    ("not an address", Invalid, "valid email address"),
    ("no website", Invalid, "has no website"),
    ("no statement", Invalid, "statement cannot be empty"),
    ("huge statement", Invalid, "at most 2000"),
    ("unknown method", Invalid, "Choose how"),
    ("migrated", Invalid, "Choose how"),
    ("link on a claimed listing", Invalid, "already claimed"),
])
def test_bad_claims_are_refused_clearly_and_write_nothing(ctx, case, error, message):
    business = listing(website=None) if case == "no website" else listing()
    claimant = UserFactory(unconfirmed=True) if case == "unconfirmed" else UserFactory()
    kwargs = {"method": "website_email", "email": ADDRESS}
    if case == "member":
        MembershipFactory(business=business, user=claimant, role=MemberRole.STAFF)
    elif case == "second pending":
        claims.start(business, claimant, method="moderator", statement="I run it.", now=START)
    elif case == "other domain":
        kwargs["email"] = "olive@gmail.com"
    elif case == "look-alike domain":
        kwargs["email"] = "olive@evilcornercafe.example"
    elif case == "not an address":
        kwargs["email"] = "olive at cafe"
    elif case == "no statement":
        kwargs = {"method": "moderator", "statement": "  "}
    elif case == "huge statement":
        kwargs = {"method": "moderator", "statement": "x" * 2001}
    elif case == "unknown method":
        kwargs = {"method": "telepathy"}
    elif case == "migrated":
        kwargs = {"method": "migrated"}
    elif case == "link on a claimed listing":
        MembershipFactory(business=business)
    before = footprint()
    with pytest.raises(error, match=message):
        claims.start(business, claimant, now=START, **kwargs)
    assert footprint() == before


# -- verification ---------------------------------------------------------------------------------


def test_a_verified_claim_makes_an_owner_and_brings_the_held_reviews_at_once(ctx, clock):
    business, claimant = listing(), UserFactory()
    held = [reviews.submit_review(UserFactory(), business, stars=s, title="t", body="b", now=START) for s in (1, 2)]
    published = reviews.submit_review(UserFactory(), business, stars=5, title="t", body="b", now=START)
    assert inbox.held_for_member(claimant) == []
    version = db.session.scalar(select(Business.listing_version).where(Business.id == business.id))
    claim = claims.start(business, claimant, method="website_email", email=ADDRESS, now=START)
    claims.verify_by_link(claim, claimant, email=ADDRESS, now=clock.now())

    assert access.role_of(claimant, business) is MemberRole.OWNER
    assert {r.id for r in inbox.held_for_member(claimant)} == {r.id for r in held}
    told = set(db.session.scalars(select(Notification.review_id).where(
        Notification.kind == "review_held", Notification.recipient_id == claimant.id)))
    assert told == {r.id for r in held} and published.id not in told
    db.session.refresh(business)
    assert business.claimed_at == clock.now()
    assert business.listing_version > version, "the public page drops 'unclaimed'"
    actions = set(db.session.scalars(select(BusinessEvent.action).where(BusinessEvent.business_id == business.id)))
    assert {"listed", "claim_started", "claim_verified", "member_added"} <= actions


def test_the_link_works_once_only_for_its_claimant_and_its_address_until_it_expires(ctx, clock):
    business, claimant, other = listing(), UserFactory(), UserFactory()
    claim = claims.start(business, claimant, method="website_email", email=ADDRESS, now=START)
    with pytest.raises(NotAllowed):
        claims.verify_by_link(claim, other, email=ADDRESS, now=START)
    with pytest.raises(InvalidTransition):
        claims.verify_by_link(claim, claimant, email="someone@cornercafe.example", now=START)
    clock.set(claim.expires_at)
    assert claim.status_at(clock.now()) is E
    with pytest.raises(InvalidTransition, match="expired"):
        claims.verify_by_link(claim, claimant, email=ADDRESS, now=clock.now())
    assert not access.is_member(claimant, business)


def test_the_link_can_be_sent_again_a_few_times(ctx):
    business, claimant = listing(), UserFactory()
    claim = claims.start(business, claimant, method="website_email", email=ADDRESS, now=START)
    for _ in range(claims.MAX_LINKS - 1):
        claims.resend_link(claim, claimant, now=START)
    with pytest.raises(InvalidTransition, match="5 times"):
        claims.resend_link(claim, claimant, now=START)
    assert db.session.scalar(select(func.count()).where(Notification.kind == "claim_link")) == claims.MAX_LINKS


def test_moderators_decide_and_the_claimant_is_told(ctx):
    business, claimant, moderator = listing(), UserFactory(), UserFactory(moderator=True)
    first = claims.start(business, claimant, method="moderator", statement="I am the manager.", now=START)
    with pytest.raises(NotAllowed):
        claims.reject(first, UserFactory(), reason="No.", now=START)
    with pytest.raises(Invalid, match="statement of reasons"):
        claims.reject(first, moderator, reason="", now=START)
    claims.reject(first, moderator, reason="Nothing shows you run it.", now=START)
    rejected = db.session.scalar(select(Notification).where(Notification.kind == "claim_rejected"))
    assert rejected.recipient_id == claimant.id and rejected.facts["reason"] == "Nothing shows you run it."
    assert not access.is_member(claimant, business)

    second = claims.start(business, claimant, method="moderator", statement="Here is my lease.", now=START)
    claims.approve(second, moderator, reason="The lease shows it.", now=START)
    assert access.is_owner(claimant, business)
    assert db.session.scalar(select(Notification.recipient_id).where(Notification.kind == "claim_approved")) == claimant.id


def test_a_moderator_cannot_decide_their_own_claim(ctx):
    moderator = UserFactory(moderator=True)
    claim = claims.start(listing(), moderator, method="moderator", statement="Mine.", now=START)
    with pytest.raises(NotAllowed, match="own claim"):
        claims.approve(claim, moderator, reason="Looks right.", now=START)


def test_the_moderators_queue_is_oldest_first_and_only_what_they_decide(ctx, clock):
    a, b = listing(name="Alpha"), listing(name="Beta", website="https://beta.example")
    late = claims.start(a, UserFactory(), method="moderator", statement="x", now=START + timedelta(hours=1))
    early = claims.start(b, UserFactory(), method="moderator", statement="y", now=START)
    claims.start(a, UserFactory(), method="website_email", email=ADDRESS, now=START)  # waits for its link
    assert [c.id for c in claims.pending_for_moderators()] == [early.id, late.id]


def test_a_claim_can_be_verified_while_the_claimant_is_already_staff(ctx):
    """Invited as staff meanwhile: the verified claim makes them an owner, one membership."""
    business, claimant = listing(), UserFactory()
    claim = claims.start(business, claimant, method="website_email", email=ADDRESS, now=START)
    MembershipFactory(business=business, user=claimant, role=MemberRole.STAFF)
    claims.verify_by_link(claim, claimant, email=ADDRESS, now=START)
    assert access.role_of(claimant, business) is MemberRole.OWNER
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 1

