"""Likely duplicates before a listing is created: same city and a similar name or the same
address, or the same website domain anywhere; and a way to go on anyway."""

from __future__ import annotations

import pytest

from reviewsite.services import businesses
from reviewsite.services.duplicates import likely_duplicates
from tests.factories import BusinessFactory, UserFactory
from tests.helpers import START


@pytest.fixture
def listed(ctx):
    BusinessFactory(name="Corner Cafe", slug="corner-cafe", city="Leeds", address="1 Market St",
                    website="https://www.cornercafe.example", website_domain="cornercafe.example")
    BusinessFactory(name="Starbucks", slug="starbucks-leeds", city="Leeds", address="5 Briggate")
    BusinessFactory(name="Corner Cafe", slug="corner-cafe-york", city="York", address="2 Stonegate")


@pytest.mark.parametrize("name,city,address,website,found", [
    ("Corner Cafe", "leeds", "9 Other Rd", None, ["corner-cafe"]),
    ("The Corner Café", "Leeds", "9 Other Rd", None, ["corner-cafe"]),
    ("Cornr Cafe", "Leeds", "9 Other Rd", None, ["corner-cafe"]),
    ("Starbucks Coffee", "Leeds", "9 Other Rd", None, ["starbucks-leeds"]),
    ("Quite Different", "Leeds", "1 market st", None, ["corner-cafe"]),
    ("Quite Different", "Bristol", "9 Other Rd", "http://cornercafe.example/menu", ["corner-cafe"]),
    ("Corner Cafe", "Bristol", "9 Other Rd", None, []),
    ("Cafe", "Leeds", "9 Other Rd", None, []),
    ("Bright Plumbing", "Leeds", "9 Other Rd", None, []),
])
def test_likely_duplicates(listed, name, city, address, website, found):
    assert [d.slug for d in likely_duplicates(name=name, city=city, address=address, website=website)] == found


def test_creation_asks_first_then_goes_on_anyway(listed):
    lister = UserFactory()
    with pytest.raises(businesses.LikelyDuplicates) as refused:
        businesses.create_business(lister, name="Corner Cafe", category="Cafe", city="Leeds", address="3 Lane",
                                   description="", now=START)
    assert [d.why for d in refused.value.matches] == ["similar name"]
    created = businesses.create_business(lister, name="Corner Cafe", category="Cafe", city="Leeds", address="3 Lane",
                                         description="", despite_duplicates=True, now=START)
    assert created.slug == "corner-cafe-leeds" and not created.is_claimed
    assert businesses.businesses_of(lister) == [], "listing it makes nobody a member"
