"""Whole public pages cached for visitors who are not signed in (reviewsite/public/page_cache.py),
over HTTP: a repeated anonymous visit reads only the stamps of what the page shows; any change a
service makes to a business shows on the next request; and nobody gets a page made for somebody
else (a signed-in person's header or button, a flashed message), in either direction."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from reviewsite.extensions import db
from reviewsite.models import Business
from reviewsite.services import reviews
from tests.factories import BusinessFactory, UserFactory
from tests.helpers import PASSWORD
from tests.web.conftest import act, page_html

PAGE = "/b/corner-cafe"
SEARCH = "/businesses?q=corner"


def add_review(app, clock, stars: int, title: str) -> None:
    def run():
        clock.advance(timedelta(minutes=1))
        shop = db.session.scalar(sa.select(Business).where(Business.slug == "corner-cafe"))
        reviews.submit_review(UserFactory(), shop, stars=stars, title=title, body="Plenty to say.", now=clock.now())

    act(app, run)


@pytest.mark.parametrize("url", [PAGE, SEARCH])
def test_a_repeated_anonymous_visit_reads_only_the_stamps(client, world, statements, url):
    first = page_html(client, url)
    statements.clear()
    assert page_html(client, url) == first
    assert len(statements) == 1, statements
    assert statements[0].startswith("SELECT business.id, business.created_at, business.listing_version FROM business")


def test_a_signed_in_visitor_never_gets_the_anonymous_page_nor_the_reverse(app, world, make_client):
    anonymous = make_client()
    first = page_html(anonymous, PAGE)
    assert "Log in" in first and "Write a review" in first

    owner = make_client()
    owner.login(world.owner)
    mine = page_html(owner, PAGE)
    assert "Signed in as <strong><bdi>Olive</bdi></strong>" in mine and "Open your inbox" in mine
    reviewer = make_client()
    reviewer.login(world.reviewer)
    assert "Signed in as <strong><bdi>Casey</bdi></strong>" in page_html(reviewer, SEARCH)

    for url in (PAGE, SEARCH):
        page = page_html(make_client(), url)
        assert "Signed in as" not in page and "Open your inbox" not in page and "csrf_token" not in page
        assert "Olive" not in page and "Casey" not in page


def test_a_flashed_message_is_shown_once_and_never_stored(world, client, make_client):
    page_html(make_client(), PAGE)  # the anonymous page is cached
    client.login(world.stranger)
    assert client.logout().status_code == 302  # flashes "You are logged out." for the next page
    assert "You are logged out." in page_html(client, PAGE)
    assert "You are logged out." not in page_html(client, PAGE)
    assert "You are logged out." not in page_html(make_client(), PAGE)


def test_business_page_changes_show_at_once_to_anonymous_visitors(app, world, client, clock):
    before = page_html(client, PAGE)
    add_review(app, clock, 5, "FRESH-REVIEW-1")
    after = page_html(client, PAGE)
    assert "FRESH-REVIEW-1" in after and after != before


def test_search_results_change_at_once_for_anonymous_visitors(app, world, client, clock):
    before = page_html(client, SEARCH)
    assert "No ratings yet" not in before  # the held 2-star review counts in the rating
    add_review(app, clock, 5, "Lovely")
    after = page_html(client, SEARCH)
    assert "3.5" in after and "2 ratings" in after

    act(app, lambda: BusinessFactory(name="Corner Bakery", slug="corner-bakery"))
    assert "Corner Bakery" in page_html(client, SEARCH)


def test_bad_search_input_is_a_400_page_never_cached(client, world):
    for _ in range(2):
        response = client.get("/businesses?category=Nope")
        assert response.status_code == 400
        assert "Check the search fields above" in response.get_data(as_text=True)
    assert client.get("/businesses?q=corner&page=7").status_code == 404


def test_an_unknown_business_is_a_404_for_anonymous_visitors(client, world):
    assert client.get("/b/no-such-place").status_code == 404


def test_a_remembered_visitor_whose_session_ended_is_still_recognised(world, make_client):
    page_html(make_client(), PAGE)  # the anonymous page is cached
    visitor = make_client()
    response = visitor.post("/login", {"email": world.reviewer, "password": PASSWORD,
                                       "remember": "y"})
    assert response.status_code == 302
    assert visitor.http.get_cookie("remember_token") is not None
    visitor.http.delete_cookie("session")  # the browser was closed: only the remember-me cookie is left
    page = page_html(visitor, PAGE)
    assert "Signed in as <strong><bdi>Casey</bdi></strong>" in page and "Log in" not in page
