"""``unit_of_work.stamps``: on PostgreSQL the cache-key reads of the public pages go straight to
the driver with SQL compiled once. Here that SQL, run by the driver, must find exactly what
SQLAlchemy finds for the same statement, including the search's escaped LIKE patterns; and a
statement whose parameters need converting must never be sent to the driver unconverted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from reviewsite.extensions import db
from reviewsite.models import Business, Review
from reviewsite.services import businesses
from reviewsite.unit_of_work import _for_driver, stamps, unit_of_work
from tests.factories import BusinessFactory

NAMES = ("100% Pure Juice", "Under_score Bar", "Back\\slash Books", "Plain Shop 1000 Pures", "Corner Cafe")


@pytest.fixture
def shops(app, db_connection):
    with app.app_context(), unit_of_work():
        return [BusinessFactory(name=name, city="Testville", category="Shop").id for name in NAMES]


@pytest.mark.postgresql_only
@pytest.mark.parametrize("terms", [
    {"q": "100%"}, {"q": "_"}, {"q": "\\"}, {"q": "pure"}, {"q": "", "city": "TESTVILLE"},
    {"q": "shop", "category": "shop", "city": "testville"}, {"q": "nothing like it"},
])
def test_the_driver_finds_what_sqlalchemy_finds(app, shops, db_connection, terms):
    with app.app_context():
        statement, params = businesses._search(terms.get("q", ""), terms.get("category", ""),
                                               terms.get("city", ""), 11, 0, stamps_only=True)
        compiled = _for_driver(statement, db_connection.dialect)
        assert compiled is not None
        driver = db_connection.connection.driver_connection
        through_driver = driver.execute(compiled.string, compiled.construct_params(params)).fetchall()
        through_sqlalchemy = [tuple(row) for row in db_connection.execute(statement, params)]
        assert [(i, v) for i, _, v in through_driver] == [(i, v) for i, _, v in through_sqlalchemy]
        assert [c for _, c, _ in through_driver] == [c for _, c, _ in through_sqlalchemy]  # same instants
        assert through_sqlalchemy == [tuple(r) for r in stamps(statement, params)]


def test_search_stamps_follow_search(app, shops):
    with app.app_context():
        for q in ("100%", "_", "pure", ""):
            found = businesses.search(q=q, limit=20)
            assert [s[0] for s in businesses.search_stamps(q=q, limit=20)] == [b.id for b in found]
        shop = businesses.search(q="corner", limit=1)[0]
        assert businesses.stamp_by_slug(shop.slug) == (shop.id, shop.created_at, shop.listing_version)
        assert businesses.stamp_by_slug("no-such-slug") is None


@pytest.mark.postgresql_only
def test_what_goes_to_the_driver(app, shops, db_connection):
    with app.app_context():
        by_time = sa.select(Review.id).where(Review.publish_at <= sa.bindparam("now", type_=Review.publish_at.type))
        assert _for_driver(by_time, db_connection.dialect) is None
        # A value written into the statement is sent along with the caller's parameters.
        popular = sa.select(*businesses.STAMP).where(Business.rating_count >= 0, Business.slug == sa.bindparam("slug"))
        compiled = _for_driver(popular, db_connection.dialect)
        assert compiled is not None
        shop = db.session.get(Business, shops[0])
        rows = db_connection.connection.driver_connection.execute(
            compiled.string, compiled.construct_params({"slug": shop.slug})).fetchall()
        assert [row[0] for row in rows] == [shop.id]
