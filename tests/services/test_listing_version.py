"""Every change a public business page shows bumps ``business.listing_version`` in the same
transaction: the page cache is keyed on it, so a missed bump would serve a stale page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reviewsite.extensions import db
from reviewsite.services import publication, reviews, thread
from tests.factories import BusinessFactory, MembershipFactory, UserFactory


@pytest.fixture
def shop(ctx):
    business = BusinessFactory()
    owner = UserFactory()
    MembershipFactory(business=business, user=owner)
    return business, owner


def version(business) -> int:
    db.session.flush()
    db.session.refresh(business)
    return business.listing_version


def held(business, clock, stars=1):
    author = UserFactory()
    review = reviews.submit_review(author, business, stars=stars, title="Cold", body="Cold soup", now=clock.now())
    return review, author


def test_submitting_a_review_changes_the_page(shop, clock):
    business, _ = shop
    before = version(business)
    held(business, clock)
    assert version(business) > before


CHANGES = {
    "published by the sweep": lambda r, author, owner, clock: (
        clock.advance(timedelta(hours=73)), publication.publish_due(now=clock.now())),
    "released by the business": lambda r, author, owner, clock: publication.release_now(r, owner, now=clock.now()),
    "revised, same stars": lambda r, author, owner, clock: reviews.revise(
        r, author, stars=r.stars, title="Still cold", body="Soup", now=clock.now()),
    "revised, new stars": lambda r, author, owner, clock: reviews.revise(
        r, author, stars=2, title="Cold", body="Soup", now=clock.now()),
    "window extended": lambda r, author, owner, clock: reviews.extend_window(r, author, hours=24, now=clock.now()),
    "withdrawn": lambda r, author, owner, clock: reviews.withdraw(r, author, now=clock.now()),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_held_review_that_changes_changes_the_page(shop, clock, change):
    business, owner = shop
    review, author = held(business, clock)
    before = version(business)
    CHANGES[change](review, author, owner, clock)
    assert version(business) > before


def test_a_response_on_a_published_review_changes_the_page(shop, clock):
    business, owner = shop
    review, _ = held(business, clock)
    publication.release_now(review, owner, now=clock.now())
    before = version(business)
    reviews.save_response(review, owner, "We are sorry; fixed.", now=clock.now())
    assert version(business) > before


def test_a_private_reply_to_a_held_review_leaves_the_page_alone(shop, clock):
    business, owner = shop
    review, _ = held(business, clock)
    before = version(business)
    thread.reply(review, owner, "Can we call you?", now=clock.now())
    reviews.save_response(review, owner, "Draft answer", now=clock.now())
    assert version(business) == before
