"""Who the business is, over HTTP: listing (with "is it one of these?"), claiming, the links'
clear 4xx pages, the team's bad input, listing edits ("formerly ..."), all with CSRF on."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import Business, BusinessClaim, Invitation, ListingChange, Membership, Notification, User
from reviewsite.services import tokens
from tests.web.conftest import act


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Business, BusinessClaim, Invitation, Membership, Notification, ListingChange)}


# -- listing -------------------------------------------------------------------------------------


def test_listing_asks_is_it_one_of_these_then_lists_it_unclaimed(app, client, identities):
    client.sign_in_as(identities.ids["customer"])
    data = {"name": "The Corner Cafe", "category": "Cafe", "city": "Leeds", "address": "7 Other Street"}
    before = counts(app)
    page = client.post("/businesses/new", data)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Is it one of these?" in body
    assert f'href="/b/{identities.shop_slug}"' in body and "similar name" in body
    assert counts(app) == before
    created = client.post("/businesses/new", {**data, "despite_duplicates": "y"})
    assert created.status_code == 302
    listing = client.get(created.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "Unclaimed" in listing and "claim it" in listing.lower()
    assert counts(app)["Membership"] == before["Membership"], "listing it makes nobody a member"


@pytest.mark.parametrize("data,message", [
    ({"website": "not a website"}, "web address"),
    ({"contact_email": "nope"}, "Invalid email"),
    ({"website": "x" * 201}, "200"),
])
def test_listing_details_are_checked(app, client, identities, data, message):
    client.sign_in_as(identities.ids["customer"])
    before = counts(app)
    response = client.post("/businesses/new", {"name": "Brand New", "category": "Bar", "city": "Hull",
                                               "address": "1 Dock St", **data})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert counts(app) == before


def test_an_unclaimed_listing_says_so_on_every_held_placeholder(app, client, identities, clock):
    from reviewsite.services import reviews
    from tests.factories import UserFactory

    def review_the_copy():
        copy = db.session.scalar(select(Business).where(Business.slug == identities.copy_slug))
        copy.claimed_at = None  # as if the copy had never been claimed
        reviews.submit_review(UserFactory(), copy, stars=2, title="t", body="b", now=clock.now())

    act(app, review_the_copy)
    page = client.get(f"/b/{identities.copy_slug}").get_data(as_text=True)
    assert "Unclaimed" in page
    assert "The business has not claimed this page yet; it can do so until the review is published." in page
    shop = client.get(f"/b/{identities.shop_slug}").get_data(as_text=True)
    assert "Unclaimed" not in shop and "has not claimed" not in shop


# -- claims --------------------------------------------------------------------------------------


@pytest.mark.parametrize("data,message", [
    ({"method": "website_email", "email": "me@cornercafe.example"}, "Not a valid choice"),
    ({"method": "moderator", "statement": ""}, "statement cannot be empty"),
    ({"method": "carrier pigeon"}, "Not a valid choice"),
    ({}, "Choose how you will prove"),
    ({"method": "moderator", "statement": "x" * 2001}, "2000"),
])
def test_claim_form_bad_input(app, client, identities, data, message):
    """On a claimed listing only the moderators' way is offered; a link cannot be forced."""
    client.sign_in_as(identities.ids["customer"])
    before = counts(app)
    response = client.post(f"/b/{identities.shop_slug}/claim", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts(app) == before


@pytest.mark.parametrize("data,message", [
    ({"method": "website_email", "email": "me@gmail.com"}, "Give an address at newplace.example"),
    ({"method": "website_email", "email": ""}, "valid email address"),
    ({"method": "contact_email"}, "Not a valid choice"),  # the customer typed that address themselves
])
def test_link_claims_of_an_unclaimed_listing_bad_input(app, client, identities, clock, data, message):
    from reviewsite.services import businesses

    def listed():
        lister = db.session.get(User, identities.ids["customer"])
        businesses.create_business(lister, name="New Place", category="Bar", city="Hull", address="1 Dock St",
                                   description="", website="https://newplace.example", contact_email="hi@newplace.example",
                                   now=clock.now())

    act(app, listed)
    client.sign_in_as(identities.ids["customer"])
    before = counts(app)
    response = client.post("/b/new-place-hull/claim", data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_second_pending_claim_is_refused_on_the_form(app, client, identities):
    client.sign_in_as(identities.ids["pending"])
    before = counts(app)
    response = client.post(f"/b/{identities.shop_slug}/claim", {"method": "moderator", "statement": "Me again."})
    assert response.status_code == 422 and "already have a claim of Corner Cafe waiting" in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_member_is_told_they_already_belong(client, identities):
    client.sign_in_as(identities.ids["staff"])
    page = client.get(f"/b/{identities.shop_slug}/claim").get_data(as_text=True)
    assert "You already act for <bdi>Corner Cafe</bdi>" in page and "Claim the business" not in page


def test_the_claim_link_is_single_use_and_every_bad_link_is_a_clear_4xx(app, client, identities, clock):
    client.sign_in_as(identities.ids["pending"])
    url = f"/claims/verify/{identities.pending_token}"
    assert client.post(url).status_code == 302
    reused = client.post(url)
    assert reused.status_code == 410 and "already verified" in reused.get_data(as_text=True)
    assert client.get(url).status_code == 410
    forged = client.get("/claims/verify/" + identities.pending_token[:-3] + "abc")
    assert forged.status_code == 400 and "not valid" in forged.get_data(as_text=True)
    with app.app_context():
        other_salt = tokens.invitation_token(identities.pending_claim, "penny@cornercafe.example")
    assert client.get(f"/claims/verify/{other_salt}").status_code == 400
    with app.app_context():
        no_claim = tokens.claim_token(987654, "penny@cornercafe.example")
    assert client.get(f"/claims/verify/{no_claim}").status_code == 400


def test_an_expired_claim_link_says_so_and_the_claim_reads_expired(app, client, identities, clock):
    client.sign_in_as(identities.ids["pending"])
    clock.advance(hours=49)
    response = client.post(f"/claims/verify/{identities.pending_token}")
    assert response.status_code in (400, 410) and "expired" in response.get_data(as_text=True)
    assert "Expired" in client.get(f"/claims/{identities.pending_claim}").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(BusinessClaim, identities.pending_claim).status.value == "pending"


def test_the_claimant_sees_each_claim_with_its_state(client, identities):
    client.sign_in_as(identities.ids["rejected"])
    page = client.get(f"/claims/{identities.rejected_claim}").get_data(as_text=True)
    assert "Not approved" in page and "Nothing shows that you run it." in page
    assert "Make a new claim" in page
    listing = client.get("/claims").get_data(as_text=True)
    assert "Corner Cafe" in listing and "rejected" in listing


def test_a_moderator_must_give_reasons_to_reject(app, client, identities):
    client.sign_in_as(identities.ids["moderator"])
    before = counts(app)
    response = client.post(f"/moderation/claims/{identities.pending_claim}", {"decision": "reject", "reason": ""})
    assert response.status_code == 422 and "statement of reasons cannot be empty" in response.get_data(as_text=True)
    assert counts(app) == before
    approve = {"decision": "approve", "reason": ""}
    assert client.post(f"/moderation/claims/{identities.pending_claim}", approve).status_code == 422
    approve["reason"] = "The domain address proves it."
    assert client.post(f"/moderation/claims/{identities.pending_claim}", approve).status_code == 302
    again = client.post(f"/moderation/claims/{identities.pending_claim}", approve)
    assert again.status_code == 422 and "already verified" in again.get_data(as_text=True)


# -- the team ------------------------------------------------------------------------------------


@pytest.mark.parametrize("data,message", [
    ({"email": "staff@example.com", "role": "staff"}, "already a member of the team"),
    ({"email": "later@example.com", "role": "staff"}, "already has an invitation waiting"),
    ({"email": "not-an-address", "role": "staff"}, "Invalid email"),
    ({"email": "new@example.com", "role": "boss"}, "Not a valid choice"),
])
def test_invitation_bad_input(app, client, identities, data, message):
    client.sign_in_as(identities.ids["owner"])
    before = counts(app)
    response = client.post(f"/b/{identities.shop_slug}/team/invite", data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert counts(app) == before


def test_removing_the_last_owner_is_refused_with_a_message(app, client, identities):
    client.sign_in_as(identities.ids["owner"])
    page = client.get(f"/b/{identities.shop_slug}/team").get_data(as_text=True)
    assert "Leave the team" in page
    before = counts(app)
    response = client.post(f"/b/{identities.shop_slug}/team/leave", follow_redirects=True)
    assert "A business always has an owner" in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_stale_member_id_is_a_clear_message(app, client, identities):
    client.sign_in_as(identities.ids["owner"])
    url = f"/b/{identities.shop_slug}/team/members/{identities.staff_membership}/remove"
    assert client.post(url).status_code == 302
    response = client.post(url, follow_redirects=True)
    assert "That person is no longer a member of the team." in response.get_data(as_text=True)


def test_an_invitation_is_accepted_once_through_its_link(app, client, identities, make_client):
    with app.app_context():
        invitation = db.session.get(Invitation, identities.invitation_id)
        token = tokens.invitation_token(invitation.id, invitation.email)
    visitor = make_client()
    page = visitor.get(f"/invitations/{token}").get_data(as_text=True)
    assert "Join the team of <bdi>Corner Cafe</bdi>" in page and "Log in to accept" in page
    client.sign_in_as(identities.ids["customer"])
    assert client.post(f"/invitations/{token}").status_code == 302
    assert "Corner Cafe" in client.get("/inbox").get_data(as_text=True)
    other = make_client()
    other.sign_in_as(identities.ids["rejected"])
    used = other.post(f"/invitations/{token}")
    assert used.status_code == 410 and "already been used" in used.get_data(as_text=True)
    assert other.get("/invitations/garbage").status_code == 400


# -- listing edits -------------------------------------------------------------------------------


def test_an_owner_renames_the_listing_and_everyone_sees_formerly(app, client, identities, make_client):
    visitor = make_client()
    assert "Formerly" not in visitor.get(f"/b/{identities.shop_slug}").get_data(as_text=True)  # cached now
    client.sign_in_as(identities.ids["owner"])
    response = client.post(f"/b/{identities.shop_slug}/edit", {
        "name": "Corner Kitchen", "category": "Cafe", "city": "Leeds", "address": "1 Market St",
        "website": "https://cornercafe.example", "contact_email": "hello@cornercafe.example",
        "hours": "Mon-Sat 8-16"})
    assert response.status_code == 302
    page = visitor.get(f"/b/{identities.shop_slug}").get_data(as_text=True)
    assert "Corner Kitchen" in page and "Formerly Corner Cafe" in page and "Mon-Sat 8-16" in page
    history = visitor.get(f"/b/{identities.shop_slug}/history").get_data(as_text=True)
    assert re.search(r"Name changed from “<span[^>]*>Corner Cafe</span>”", history)


def test_listing_edit_bad_input(app, client, identities):
    client.sign_in_as(identities.ids["owner"])
    before = counts(app)
    response = client.post(f"/b/{identities.shop_slug}/edit", {"name": "", "category": "Cafe", "city": "Leeds",
                                                               "address": "1 Market St", "website": "nope"})
    assert response.status_code == 422
    assert counts(app) == before
