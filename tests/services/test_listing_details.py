"""Listing details: owners edit them, every change is in the history, a rename or a move shows
"formerly ...", and the public page's version moves in the same transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import Business, ListingChange, MemberRole
from reviewsite.services import listing_details
from reviewsite.services.errors import Invalid, NotAllowed
from tests.factories import BusinessFactory, MembershipFactory, UserFactory
from tests.helpers import START

VALUES = {"name": "Corner Cafe", "category": "Cafe", "city": "Leeds", "address": "1 High Street"}


@pytest.fixture
def shop(ctx):
    business = BusinessFactory(name="Corner Cafe", city="Leeds", address="1 High Street", description="")
    return business, MembershipFactory(business=business).user


def version(business) -> int:
    return db.session.scalar(select(Business.listing_version).where(Business.id == business.id))


def test_an_edit_keeps_every_change_and_says_formerly(shop, clock):
    business, owner = shop
    before = version(business)
    changed = listing_details.edit(business, owner, now=clock.now(), **{
        **VALUES, "name": "Corner Kitchen", "website": "cornerkitchen.example", "hours": "Mon-Fri 8-18"})
    assert changed == ["name", "website", "hours"]
    assert business.website == "https://cornerkitchen.example" and business.website_domain == "cornerkitchen.example"
    assert version(business) > before
    clock.advance(hours=1)
    listing_details.edit(business, owner, now=clock.now(), **{**VALUES, "name": "Corner Kitchen", "city": "York"})
    formerly = listing_details.formerly(business)
    assert formerly.names == ("Corner Cafe",) and formerly.cities == ("Leeds",)
    history = [(c.field, c.old_value, c.new_value) for c in listing_details.history(business)]
    assert ("name", "Corner Cafe", "Corner Kitchen") in history and ("city", "Leeds", "York") in history
    assert ("website", "", "https://cornerkitchen.example") in history


def test_going_back_to_a_former_name_is_not_formerly_itself(shop, clock):
    business, owner = shop
    listing_details.edit(business, owner, now=clock.now(), **{**VALUES, "name": "Corner Kitchen"})
    clock.advance(hours=1)
    listing_details.edit(business, owner, now=clock.now(), **VALUES)
    assert listing_details.formerly(business).names == ("Corner Kitchen",)


def test_nothing_changed_writes_nothing(shop):
    business, owner = shop
    before = version(business)
    assert listing_details.edit(business, owner, now=START, **VALUES, description="") == []
    assert version(business) == before
    assert db.session.scalar(select(func.count()).select_from(ListingChange)) == 0


@pytest.mark.parametrize("values,message", [
    ({"name": "  "}, "name cannot be empty"),
    ({"name": "x" * 81}, "at most 80"),
    ({"city": ""}, "city cannot be empty"),
    ({"category": "Casino"}, "Choose a category"),
    ({"website": "not a site"}, "web address"),
    ({"website": "ftp://files.example"}, "web address"),
    ({"contact_email": "hello at cafe"}, "valid email address"),
    ({"hours": "x" * 501}, "at most 500"),
    ({"slug": "mine"}, "cannot be edited"),
])
def test_bad_details_are_refused_and_nothing_is_written(shop, values, message):
    business, owner = shop
    before = version(business)
    with pytest.raises(Invalid, match=message):
        listing_details.edit(business, owner, now=START, **{**VALUES, **values})
    db.session.refresh(business)
    assert business.name == "Corner Cafe" and version(business) == before
    assert db.session.scalar(select(func.count()).select_from(ListingChange)) == 0


def test_only_owners_edit(shop):
    business, _ = shop
    for someone in (MembershipFactory(business=business, role=MemberRole.STAFF).user, UserFactory()):
        with pytest.raises(NotAllowed):
            listing_details.edit(business, someone, now=START, **{**VALUES, "name": "Mine now"})
