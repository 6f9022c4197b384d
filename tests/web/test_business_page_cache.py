"""The business page's cached fragment (reviewsite/public/fragments.py), over HTTP: every change
a service makes shows on the next request, because the fragment is keyed on
``business.listing_version``; and a held review's words never appear, cached or not
(invariant 1). Each test first loads the page, so the later request would be served from the
cache if the key did not change."""

from __future__ import annotations

from datetime import timedelta


from reviewsite.extensions import db
from reviewsite.models import Review
from reviewsite.services import accounts, reviews
from tests.factories import UserFactory
from tests.web.conftest import CANARIES, CANARY_RESPONSE, CANARY_TITLE, act, page_html

PAGE = "/b/corner-cafe"


def page(client, url: str = PAGE) -> str:
    return page_html(client, url)


def held_review(world) -> Review:
    return db.session.get(Review, world.held_id)


def user(email: str):
    return accounts.find_by_email(email)


def test_a_repeated_visit_is_served_from_the_cache(client, world, statements):
    first = page(client)
    statements.clear()
    again = page(client)
    assert again == first
    # Only the business row is read: no review, placeholder or record query.
    assert not [s for s in statements if "review" in s.lower()], statements


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
    act(app, lambda: reviews.release_now(held_review(world), user(world.owner), now=clock.now()))
    html = page(client)
    assert CANARY_TITLE in html and CANARY_RESPONSE in html
    assert "make-it-right window, published on" not in html  # the placeholder went
    assert "Answered 1 of 1 complaint privately" in html  # the record line too


def test_the_sweep_publication_shows_at_once(app, world, client, clock):
    assert CANARY_TITLE not in page(client)
    clock.advance(timedelta(hours=73))
    act(app, lambda: reviews.publish_due(now=clock.now()))
    assert CANARY_TITLE in page(client)


def test_a_new_or_edited_response_shows_at_once(app, world, client, clock):
    act(app, lambda: reviews.release_now(held_review(world), user(world.owner), now=clock.now()))
    assert CANARY_RESPONSE in page(client)
    act(app, lambda: reviews.save_response(held_review(world), user(world.owner), "Refunded in full.", now=clock.now()))
    html = page(client)
    assert "Refunded in full." in html and CANARY_RESPONSE not in html
    act(app, lambda: reviews.save_response(held_review(world), user(world.owner), "", now=clock.now()))
    assert "Refunded in full." not in page(client)


def test_a_withdrawn_review_disappears_at_once(app, world, client, clock):
    act(app, lambda: reviews.release_now(held_review(world), user(world.owner), now=clock.now()))
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
