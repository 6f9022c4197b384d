"""Search and the stamps the public pages are cached on: the stamps of a search are those of the
businesses it finds, in the same order, LIKE wildcards taken literally; a business page's stamp
moves with every change a public page shows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reviewsite.services import businesses, listings, reviews
from tests.factories import BusinessFactory, UserFactory
from tests.helpers import START

NAMES = ("100% Pure Juice", "Under_score Bar", "Back\\slash Books", "Plain Shop 1000 Pures", "Corner Cafe")


@pytest.fixture
def shops(ctx):
    return [BusinessFactory(name=name, city="Testville", category="Shop") for name in NAMES]


@pytest.mark.parametrize(("q", "found"), [
    ("100%", ["100% Pure Juice"]), ("_", ["Under_score Bar"]), ("\\", ["Back\\slash Books"]),
    ("pure", ["100% Pure Juice", "Plain Shop 1000 Pures"]), ("", sorted(NAMES)), ("nothing like it", []),
])
def test_search_stamps_follow_search(shops, q, found):
    results = businesses.search(q=q, city="TESTVILLE", limit=20)
    assert [b.name for b in results] == found
    assert businesses.search_stamps(q=q, city="testville", limit=20) == [
        (b.id, b.created_at, b.listing_version) for b in results]


def test_a_business_page_stamp_moves_with_a_review_and_with_the_end_of_a_window(shops, clock):
    shop = shops[-1]
    assert listings.stamp(shop.slug, now=clock.now()) == (shop.id, shop.created_at, shop.listing_version, 0)
    assert listings.stamp("no-such-slug", now=clock.now()) is None
    review = reviews.submit_review(UserFactory(), shop, stars=2, title="t", body="b", now=START)
    moved = listings.stamp(shop.slug, now=START)
    assert moved[2] == shop.listing_version + 1 and moved[3] == 0
    assert listings.stamp(shop.slug, now=review.publish_at - timedelta(microseconds=1)) == moved
    assert listings.stamp(shop.slug, now=review.publish_at)[3] == 1
