"""Bad input gets a clear message or a correct 4xx, never a 500, and nothing half-written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import Business, Notification, Review, ThreadMessage, User

HUGE = "x" * 6000


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (User, Business, Review, ThreadMessage, Notification)}


@pytest.mark.parametrize(
    "data,message",
    [
        ({"email": "not-an-email", "display_name": "A", "password": "long enough", "confirm": "long enough"}, "Invalid email"),
        ({"email": "a@example.com", "display_name": "A", "password": "short", "confirm": "short"}, "at least 8"),
        ({"email": "a@example.com", "display_name": "A", "password": "long enough", "confirm": "different!"}, "do not match"),
        ({"email": "a@example.com", "display_name": "", "password": "long enough", "confirm": "long enough"}, "required"),
        ({"email": "owner@example.com", "display_name": "A", "password": "long enough", "confirm": "long enough"}, "already exists"),
        ({"email": "a@example.com", "display_name": HUGE, "password": "long enough", "confirm": "long enough"}, "60"),
    ],
)
def test_signup_rejects(app, client, world, data, message):
    before = counts(app)
    response = client.post("/signup", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts(app) == before


@pytest.mark.parametrize(
    "data,message",
    [
        ({"stars": "0", "title": "t", "body": "b"}, "Choose from 1 to 5 stars"),
        ({"stars": "6", "title": "t", "body": "b"}, "Choose from 1 to 5 stars"),
        ({"stars": "abc", "title": "t", "body": "b"}, "Choose from 1 to 5 stars"),
        ({"stars": "2.5", "title": "t", "body": "b"}, "Choose from 1 to 5 stars"),
        ({"title": "t", "body": "b"}, "Choose from 1 to 5 stars"),
        ({"stars": "2", "title": "", "body": "b"}, "required"),
        ({"stars": "2", "title": "t", "body": "   "}, "required"),
        ({"stars": "2", "title": "t", "body": HUGE}, "5000"),
    ],
)
def test_review_form_rejects(app, client, world, data, message):
    client.login(world.stranger)
    before = counts(app)
    response = client.post("/b/corner-cafe/review", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_second_review_of_the_same_business_is_refused_clearly(app, client, world):
    client.login(world.reviewer)
    before = counts(app)
    response = client.post("/b/corner-cafe/review", {"stars": "5", "title": "Again", "body": "Again"})
    assert response.status_code == 422
    assert "already reviewed" in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_business_owner_cannot_review_their_own_business(app, client, world):
    client.login(world.owner)
    response = client.post("/b/corner-cafe/review", {"stars": "5", "title": "Great", "body": "Us!"})
    assert response.status_code == 422
    assert "belong to" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "data,message",
    [
        ({"name": "", "category": "Cafe", "city": "Leeds", "address": "1 St"}, "required"),
        ({"name": "New", "category": "Casino", "city": "Leeds", "address": "1 St"}, "Not a valid choice"),
        ({"name": HUGE, "category": "Cafe", "city": "Leeds", "address": "1 St"}, "80"),
        ({"name": "New", "category": "Cafe", "city": "", "address": "1 St"}, "required"),
    ],
)
def test_business_form_rejects(app, client, world, data, message):
    client.login(world.stranger)
    before = counts(app)
    response = client.post("/businesses/new", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts(app) == before


@pytest.mark.parametrize(
    "action,data",
    [("messages", {"body": ""}), ("messages", {"body": HUGE}), ("response", {"body": HUGE}),
     ("extend", {"hours": "5"}), ("extend", {"hours": "lots"}),
     ("offers", {"remedy": "bribe", "note": "remove it and get paid"}), ("offers", {"remedy": "refund", "note": ""})],
)
def test_thread_forms_reject_without_writing(app, client, world, action, data):
    client.login(world.reviewer if action == "extend" else world.owner)
    before = counts(app)
    response = client.post(f"/reviews/{world.held_id}/{action}", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    if data.get("body"):
        assert data["body"] in page, "what the person typed is kept on the form"
    assert counts(app) == before


@pytest.mark.parametrize("url", ["/b/no-such-place", "/b/no-such-place/review", "/reviews/424242",
                                 "/reviews/abc", "/dev/mailbox/999999"])
def test_missing_or_malformed_ids_are_404(client, world, url):
    client.login(world.stranger)
    assert client.get(url).status_code == 404


def test_post_without_csrf_token_is_refused(app, client, world):
    client.login(world.reviewer)
    before = counts(app)
    response = client.post(f"/reviews/{world.held_id}/messages", {"body": "hi"}, csrf=False)
    assert response.status_code == 400
    assert counts(app) == before


def test_oversized_request_is_413(client, world):
    client.login(world.owner)
    response = client.post(f"/reviews/{world.held_id}/messages", {"body": "x" * 300_000})
    assert response.status_code == 413


def test_search_with_an_unknown_category_is_a_400_page(client):
    response = client.get("/businesses?category=Casino")
    assert response.status_code == 400


def test_acting_on_a_published_review_that_left_the_window_is_a_message(app, client, world):
    client.login(world.reviewer)
    assert client.post(f"/reviews/{world.held_id}/release", {"confirm": "yes"}).status_code == 302
    page = client.post(f"/reviews/{world.held_id}/release", {"confirm": "yes"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Only a review in its make-it-right window can be released." in page


def test_extending_past_the_cap_explains_why_on_the_page(app, client, world):
    client.login(world.reviewer)
    assert client.post(f"/reviews/{world.held_id}/extend", {"hours": "168"}).status_code == 302
    response = client.post(f"/reviews/{world.held_id}/extend", {"hours": "24"})
    assert response.status_code == 422
    assert "at most 0 more hours" in response.get_data(as_text=True)
