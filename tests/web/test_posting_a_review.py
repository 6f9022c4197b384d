"""Writing a review over HTTP, as a person does: the form, what the page says afterwards, and
that a refused or repeated submission leaves nothing half-written."""

from __future__ import annotations

import re

from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import Business, Review, ReviewStatus
from tests.helpers import submission_footprint


def state(app, slug: str) -> dict[str, object]:
    """What a submission to the business writes: reviews, audit events, notices, aggregate."""
    with app.app_context():
        return submission_footprint(db.session.scalars(select(Business.id).where(Business.slug == slug)).one())


def test_a_low_star_review_goes_to_the_business_first_and_the_page_says_when_it_is_published(app, client, world):
    client.login(world.stranger)
    before = state(app, world.shop_slug)
    response = client.post(f"/b/{world.shop_slug}/review",
                           {"stars": "2", "title": "Slow service", "body": "We waited an hour."})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Corner Cafe hears it privately first" in page
    assert re.search(r"your review is published on \d\d \w{3} \d{4}, \d\d:\d\d UTC whatever happens", page)
    assert "Slow service" in page and "We waited an hour." in page  # the author sees their own words
    after = state(app, world.shop_slug)
    count, total, version = before["aggregate"]
    assert after == {"reviews": before["reviews"] + 1, "events": before["events"] + 1,
                     "notices": before["notices"] + 1,  # the one member is told
                     "aggregate": (count + 1, total + 2, version + 1)}


def test_a_high_star_review_is_published_at_once(app, client, world):
    client.login(world.stranger)
    response = client.post(f"/b/{world.shop_slug}/review", {"stars": "5", "title": "Lovely", "body": "Great soup."})
    assert response.status_code == 302
    assert "Thank you. Your review is published." in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        review = db.session.scalars(select(Review).where(Review.title == "Lovely")).one()
        assert review.status is ReviewStatus.PUBLISHED


def test_the_same_form_sent_twice_saves_one_review_and_explains_the_second(app, client, world):
    """A double click or a resubmitted page: the second POST is a clear message, not a 500,
    and it writes nothing (no second event, notice or star in the aggregate)."""
    client.login(world.stranger)
    form = {"stars": "1", "title": "Cold soup", "body": "It was cold."}
    assert client.post(f"/b/{world.shop_slug}/review", form).status_code == 302
    after_first = state(app, world.shop_slug)
    response = client.post(f"/b/{world.shop_slug}/review", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "You have already reviewed this business." in page
    assert "Cold soup" in page, "what the person typed is kept on the form"
    assert "Open your review of" in page, "the form shown again leads to the review they wrote"
    assert state(app, world.shop_slug) == after_first


def test_a_refused_author_gets_the_reason_and_nothing_is_written(app, client, world):
    # (An address not confirmed yet cannot log in at all: tests/web/test_accounts_hidden.py.)
    client.login(world.owner)
    before = state(app, world.shop_slug)
    response = client.post(f"/b/{world.shop_slug}/review", {"stars": "1", "title": "t", "body": "b"})
    assert response.status_code == 422
    assert "You cannot review a business you belong to." in response.get_data(as_text=True)
    assert state(app, world.shop_slug) == before


def test_a_submission_without_its_csrf_token_is_refused_and_writes_nothing(app, client, world):
    client.login(world.stranger)
    before = state(app, world.shop_slug)
    response = client.post(f"/b/{world.shop_slug}/review", {"stars": "5", "title": "t", "body": "b"}, csrf=False)
    assert response.status_code == 400
    assert state(app, world.shop_slug) == before


def test_a_logged_out_visitor_is_sent_to_log_in(app, client, world):
    before = state(app, world.shop_slug)
    response = client.post(f"/b/{world.shop_slug}/review", {"stars": "5", "title": "t", "body": "b"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert state(app, world.shop_slug) == before
