"""The public pages' one caching mechanism (reviewsite/public/caching.py), over HTTP.

A visitor with no cookies gets the page everyone gets: a repeated visit reads only the stamp of
what the page shows, a browser or proxy that sends the ETag back gets 304, and every change a
service makes to a business shows on the next request (its stamp moved). Nobody gets a page made
for somebody else (a signed-in person's header or button, a flashed message), in either
direction; a held review's words never appear, cached or not (invariant 1); and a held review
whose time has come reads as published before any sweep has run (invariant 8). Each test loads a
page first, so that a later request would be served from the cache if the key did not change.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from reviewsite.extensions import db
from reviewsite.models import Business, Review
from reviewsite.services import accounts, publication, reviews
from tests.factories import BusinessFactory, UserFactory
from tests.helpers import PASSWORD
from tests.web.conftest import CANARIES, CANARY_BODY, CANARY_RESPONSE, CANARY_TITLE, act, page_html

PAGE = "/b/corner-cafe"
SEARCH = "/businesses?q=corner"


def page(client, url: str = PAGE) -> str:
    return page_html(client, url)


def held_review(world) -> Review:
    return db.session.get(Review, world.held_id)


def user(email: str):
    return accounts.find_by_email(email)


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
    # The stamp, through SQLAlchemy (SQLite) or straight through the driver (PostgreSQL, where
    # SQLAlchemy sees nothing: reviewsite/fast_reads.py), and nothing else.
    assert len(statements) <= 1, statements
    assert all(s.startswith("SELECT business.id, business.created_at, business.listing_version") for s in statements)


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
    # The stamps of what such a search finds are read (the form reads the arguments only on a
    # render), so a second visit would be served from the cache if the first had been stored.
    for query in ("category=Nope", "q=" + "c" * 81, "city=" + "L" * 61, "category=Nope&page=7"):
        for _ in range(2):
            response = client.get(f"/businesses?{query}")
            assert response.status_code == 400, query
            assert "Check the search fields above" in response.get_data(as_text=True)
            assert "ETag" not in response.headers
    assert "Field cannot be longer than 80 characters." in client.get("/businesses?q=" + "c" * 81).get_data(
        as_text=True)
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


def test_a_held_review_never_shows_its_words_even_cached(app, world, make_client):
    owner = make_client()
    owner.login(world.owner)
    # A member fills the cache first: the fragment must hold nothing of what members may see.
    assert "Open your inbox" in page(owner)
    for visitor in (make_client(), make_client()):
        html = page(visitor)
        assert "2-star review in the make-it-right window" in html
        for canary in CANARIES:
            assert canary not in html
    # Still held after a revision (which changes the page): the new words stay private too.
    act(app, lambda: reviews.revise(held_review(world), user(world.reviewer), stars=1,
                                    title="CANARYREVISED-1", body="CANARYREVISED-2", now=world.publish_at - timedelta(hours=1)))
    html = page(make_client())
    assert "1-star review in the make-it-right window" in html
    assert "CANARYREVISED" not in html
    for canary in CANARIES:
        assert canary not in html


def test_a_release_shows_the_review_and_its_response_at_once(app, world, client, clock):
    assert CANARY_TITLE not in page(client)
    act(app, lambda: publication.release_now(held_review(world), user(world.owner), now=clock.now()))
    html = page(client)
    assert CANARY_TITLE in html and CANARY_RESPONSE in html
    assert "make-it-right window, published on" not in html  # the placeholder went
    # The record too: one complaint, its window ended, answered in it, released by the business.
    record = html[html.index('id="record-heading"'):html.index('id="reviews-heading"')]
    assert "Answered privately within the window</dt>\n      <dd><span class=\"figure\">1 of 1 (100%)" in record
    assert "1 by the reviewer" not in record and "0 by the reviewer, 1 by the business" in record


def test_the_sweep_publication_shows_at_once(app, world, client, clock):
    assert CANARY_TITLE not in page(client)
    clock.advance(timedelta(hours=73))
    act(app, lambda: publication.publish_due(now=clock.now()))
    assert CANARY_TITLE in page(client)


def test_a_new_or_edited_response_shows_at_once(app, world, client, clock):
    act(app, lambda: publication.release_now(held_review(world), user(world.owner), now=clock.now()))
    assert CANARY_RESPONSE in page(client)
    act(app, lambda: reviews.save_response(held_review(world), user(world.owner), "Refunded in full.", now=clock.now()))
    html = page(client)
    assert "Refunded in full." in html and CANARY_RESPONSE not in html
    act(app, lambda: reviews.save_response(held_review(world), user(world.owner), "", now=clock.now()))
    assert "Refunded in full." not in page(client)


def test_a_withdrawn_review_disappears_at_once(app, world, client, clock):
    act(app, lambda: publication.release_now(held_review(world), user(world.owner), now=clock.now()))
    assert CANARY_TITLE in page(client)
    act(app, lambda: reviews.withdraw(held_review(world), user(world.reviewer), now=clock.now()))
    html = page(client)
    assert CANARY_TITLE not in html and CANARY_RESPONSE not in html
    assert "No published reviews yet." in html


def test_a_new_review_shows_at_once_and_pages_move(app, world, client, clock):
    def publish_many(n: int, prefix: str):
        def run():
            shop = held_review(world).business
            for i in range(n):
                clock.advance(timedelta(minutes=1))
                reviews.submit_review(UserFactory(), shop, stars=5, title=f"{prefix}-{i:02d}", body="Lovely.", now=clock.now())
        return run

    act(app, publish_many(20, "Good"))
    first = page(client)
    assert "Good-19" in first and "Good-00" in first
    assert 'rel="next"' not in first
    assert client.get(PAGE + "?page=2").status_code == 404
    act(app, publish_many(1, "Late"))
    first = page(client)
    assert "Late-00" in first and "Good-00" not in first and 'rel="next"' in first
    assert "Good-00" in page(client, PAGE + "?page=2")
    assert client.get(PAGE + "?page=3").status_code == 404
    assert client.get(PAGE + "?page=0").status_code == 404
    assert client.get(PAGE + "?page=99999999999999999999").status_code == 404


def test_pages_of_other_businesses_are_not_mixed_up(client, world):
    assert "Corner Cafe" in page(client)
    rival = page(client, "/b/rival-diner")
    assert "Rival Diner" in rival and "make-it-right window, published on" not in rival


@pytest.mark.parametrize("url", [PAGE, SEARCH])
def test_a_browser_or_proxy_that_sends_the_etag_back_gets_304_until_the_page_changes(app, client, world, clock, url):
    first = client.get(url)
    assert first.status_code == 200 and first.headers["ETag"]
    assert {"public", "no-cache"} <= {part.strip() for part in first.headers["Cache-Control"].split(",")}
    assert "Cookie" in first.headers["Vary"]
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    add_review(app, clock, 5, "FRESH-REVIEW-2")
    changed = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]


def test_a_signed_in_page_is_never_marked_shareable(world, make_client):
    owner = make_client()
    owner.login(world.owner)
    response = owner.get(PAGE)
    assert response.status_code == 200
    assert "public" not in response.headers.get("Cache-Control", "") and "ETag" not in response.headers


def test_a_held_review_reads_as_published_once_its_time_has_come_with_no_sweep(world, client, clock):
    """No worker runs here: at publish_at the page changes by itself, cached or not."""
    before = page(client)
    assert CANARY_TITLE not in before and "2-star review in the make-it-right window" in before
    clock.set(world.publish_at - timedelta(seconds=1))
    assert CANARY_TITLE not in page(client)
    clock.set(world.publish_at)
    html = page(client)
    assert CANARY_TITLE in html and CANARY_BODY in html and CANARY_RESPONSE in html
    assert "make-it-right window, published on" not in html
    review_page = page(client, f"/reviews/{world.held_id}")
    assert CANARY_TITLE in review_page and CANARY_RESPONSE in review_page


def test_a_resolution_and_an_order_or_filter_show_at_once_and_are_keyed_apart(app, world, client, clock):
    """Issue 14: what the reviewer says after publication changes the cached page at once, and
    each order and filter of the reviews is a page of its own key."""
    from reviewsite.services import resolution

    act(app, lambda: publication.release_now(held_review(world), user(world.reviewer), now=clock.now()))
    default, lowest = page(client), page(client, PAGE + "?sort=lowest&stars=2&window=1")
    assert CANARY_TITLE in default and CANARY_TITLE in lowest and default != lowest
    assert "No published review matches." in page(client, PAGE + "?stars=5")
    act(app, lambda: resolution.resolve(held_review(world), user(world.reviewer), note="RESOLVED-NOTE-1",
                                        now=clock.now()))
    for url in (PAGE, PAGE + "?sort=lowest&stars=2&window=1"):
        assert "RESOLVED-NOTE-1" in page(client, url)
