"""The one fast path (reviewsite/fast_reads.py): the keys of the cached public pages, read
straight through psycopg, are exactly what SQLAlchemy reads for the same statements, for the
business page's stamp (held reviews whose time has come included) and for searches with LIKE
wildcards in them; a statement whose parameters need converting never takes the driver's way.
Outside a unit of work the read takes a pooled connection of its own and makes no session; inside
one it reads on the unit's connection, so it sees what the unit has written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from reviewsite.extensions import db
from reviewsite.fast_reads import _for_driver, key_rows
from reviewsite.models import Business, Review
from reviewsite.services import businesses, listings, reviews
from tests.factories import BusinessFactory, MembershipFactory, UserFactory
from tests.helpers import START

pytestmark = pytest.mark.postgresql_only

NAMES = ("100% Pure Juice", "Under_score Bar", "Back\\slash Books", "Plain Shop 1000 Pures", "Corner Cafe")


@pytest.fixture
def shops(ctx):
    made = [BusinessFactory(name=name, city="Testville", category="Shop") for name in NAMES]
    MembershipFactory(business=made[-1])
    for stars in (1, 2, 5):
        reviews.submit_review(UserFactory(), made[-1], stars=stars, title="t", body="b", now=START)
    return made


def through_sqlalchemy(statement, params) -> list[tuple]:
    return [tuple(row) for row in db.session.execute(statement, params)]


@pytest.mark.parametrize("at", [START, START + timedelta(hours=72), START + timedelta(days=30)])
def test_a_business_page_stamp_is_the_same_both_ways(shops, at):
    assert _for_driver(listings._STAMP, db.session.get_bind().dialect) is not None  # it does take the fast path
    params = {"slug": shops[-1].slug, "now": at}
    assert key_rows(listings._STAMP, params) == through_sqlalchemy(listings._STAMP, params)
    assert key_rows(listings._STAMP, {"slug": "no-such-place", "now": at}) == []


@pytest.mark.parametrize("terms", [
    {"q": "100%"}, {"q": "_"}, {"q": "\\"}, {"q": "pure"}, {"q": "", "city": "TESTVILLE"},
    {"q": "shop", "category": "shop", "city": "testville"}, {"q": "nothing like it"},
])
def test_search_stamps_are_the_same_both_ways(shops, terms):
    statement, params = businesses._search(True, terms.get("q", ""), terms.get("category", ""),
                                           terms.get("city", ""), 11, 0)
    assert _for_driver(statement, db.session.get_bind().dialect) is not None
    assert key_rows(statement, params) == through_sqlalchemy(statement, params)


def test_a_statement_whose_parameters_need_converting_goes_through_sqlalchemy(shops):
    by_time = sa.select(Review.id).where(Review.publish_at <= sa.bindparam("now", type_=Review.publish_at.type))
    assert _for_driver(by_time, db.session.get_bind().dialect) is None
    assert key_rows(by_time, {"now": START + timedelta(days=4)}) == through_sqlalchemy(
        by_time, {"now": START + timedelta(days=4)})


@pytest.fixture
def on_the_engine(app, db_connection) -> Iterator[str]:
    """The app's own engine in ``db.engines`` for once, instead of the test's shared connection,
    so that a read on a pooled connection of its own can be told from a read in the unit of work:
    one business committed for real (its slug yielded), and deleted again afterwards."""
    with app.app_context():
        shared = db.engines[None]
        db.engines[None] = shared.engine  # type: ignore[index]
        db.session.remove()
        business = BusinessFactory(name="Committed Cafe", slug="committed-cafe")
        db.session.commit()
        business_id = business.id
        db.session.remove()
        try:
            yield "committed-cafe"
        finally:
            db.session.remove()
            db.session.execute(sa.delete(Business).where(Business.id == business_id))
            db.session.commit()
            db.session.remove()
            db.engines[None] = shared  # type: ignore[index]


def test_outside_a_unit_of_work_the_stamp_is_read_without_a_session(on_the_engine):
    stamp = key_rows(listings._STAMP, {"slug": on_the_engine, "now": START})
    assert not db.session.registry.has()  # no session was made for the read
    assert stamp == through_sqlalchemy(listings._STAMP, {"slug": on_the_engine, "now": START})
    assert stamp[0][2] == 0  # its listing version


def test_inside_a_unit_of_work_the_stamp_sees_what_the_unit_wrote(on_the_engine):
    business_id = db.session.execute(sa.select(Business.id).where(Business.slug == on_the_engine)).scalar_one()
    listings.changed([business_id])  # not committed: only this unit's connection sees it
    assert key_rows(listings._STAMP, {"slug": on_the_engine, "now": START})[0][2] == 1
    db.session.rollback()
    assert key_rows(listings._STAMP, {"slug": on_the_engine, "now": START})[0][2] == 0
