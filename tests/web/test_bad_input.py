"""Bad input gets a clear message or a correct 4xx, never a 500, and nothing half-written."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import Business, Notification, Review, ThreadMessage, User
from tests.web.conftest import sample_values

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


# -- ids out of range, control characters, bidirectional text (issue 10) -----------------------

OUT_OF_RANGE = (2**31, 10**30)


def test_every_id_in_the_url_map_out_of_range_is_404(app, client, world):
    """PostgreSQL's INTEGER ends at 2**31 - 1: beyond it every route answers 404, on both
    databases, without asking the database."""
    client.login(world.reviewer)
    values = sample_values(app, world)
    checked = 0
    for rule in app.url_map.iter_rules():
        ids = [name for name, converter in rule._converters.items() if converter.__class__.__name__ == "IdConverter"]
        for name in ids:
            for huge in OUT_OF_RANGE:
                url = rule.rule.replace(f"<int:{name}>", str(huge))
                for other, value in {**values["*"], **values.get(rule.endpoint, {})}.items():
                    url = re.sub(rf"<(?:\w+:)?{other}>", str(value), url)
                method = "GET" if "GET" in rule.methods else "POST"
                response = client.get(url) if method == "GET" else client.post(url)
                assert response.status_code == 404, (method, url, response.status_code)
                checked += 1
    assert checked >= 2 * 10


@pytest.mark.parametrize("url", ["/b/corner%00cafe", "/b/corner%1bcafe/review", "/confirm/abc%00def",
                                 "/password/reset/%07x", "/unsubscribe/x%00"])
def test_control_characters_in_a_path_are_404(client, world, url):
    client.login(world.reviewer)
    assert client.get(url).status_code == 404


# Every form with text inputs: (who is signed in, url, a valid submission, its text fields).
FORMS = [
    (None, "/signup", {"email": "n@example.com", "display_name": "N", "password": "long enough", "confirm": "long enough"},
     ["email", "display_name", "password"]),
    (None, "/login", {"email": "n@example.com", "password": "long enough"}, ["email", "password"]),
    (None, "/password/forgot", {"email": "n@example.com"}, ["email"]),
    ("reviewer", "/settings/password", {"current": "x", "password": "long enough", "confirm": "long enough"},
     ["current", "password"]),
    ("stranger", "/b/corner-cafe/review", {"stars": "2", "title": "Title", "body": "Body"}, ["title", "body"]),
    ("reviewer", "/reviews/{held}/edit", {"stars": "2", "title": "Title", "body": "Body"}, ["title", "body"]),
    ("reviewer", "/reviews/{held}/messages", {"body": "Hello"}, ["body"]),
    ("owner", "/reviews/{held}/offers", {"remedy": "refund", "note": "We refund"}, ["note"]),
    ("owner", "/reviews/{held}/response", {"body": "Thanks"}, ["body"]),
    ("stranger", "/businesses/new", {"name": "New", "category": "Cafe", "city": "Leeds", "address": "1 St",
                                     "description": "Nice"}, ["name", "city", "address", "description"]),
]


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x85"])
@pytest.mark.parametrize("who,url,data,fields", FORMS, ids=[form[1] for form in FORMS])
def test_control_characters_are_refused_on_every_text_input(app, client, world, who, url, data, fields, character):
    if who is not None:
        client.login(getattr(world, who))
    url = url.format(held=world.held_id)
    for field in fields:
        before = counts(app)
        response = client.post(url, {**data, field: f"a{character}b"})
        assert response.status_code == 422, (field, response.status_code)
        assert "Remove the invisible control characters from this field." in response.get_data(as_text=True)
        assert counts(app) == before


@pytest.mark.parametrize("field", ["body", "description"])
def test_a_text_area_keeps_line_breaks_and_tabs(app, client, world, field):
    client.login(world.stranger)
    if field == "body":
        response = client.post("/b/corner-cafe/review", {"stars": "5", "title": "T", "body": "one\r\ntwo\tthree"})
    else:
        response = client.post("/businesses/new", {"name": "Tabs", "category": "Cafe", "city": "Leeds",
                                                   "address": "1 St", "description": "one\r\ntwo\tthree"})
    assert response.status_code == 302


@pytest.mark.parametrize("query", ["q=caf%00e", "city=Lee%00ds", "q=%1b%5b31m"])
def test_control_characters_in_the_search_box_are_a_message_not_a_503(client, query):
    response = client.get(f"/businesses?{query}")
    assert response.status_code == 400
    assert "Remove the invisible control characters from this field." in response.get_data(as_text=True)


def test_bidirectional_overrides_are_shown_isolated(app, client, world):
    """A name with U+202E (right-to-left override) cannot reverse the text around it: in a page
    it is inside <bdi>, where markup cannot go (the flashed message) between FSI and PDI."""
    client.login(world.stranger)
    spoof = "Evil\u202eEvil"
    response = client.post("/businesses/new", {"name": spoof, "category": "Cafe", "city": "Le\u202eeds",
                                               "address": "1 St", "description": ""}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert f"\u2068{spoof}\u2069 is listed" in page
    assert f"<h1><bdi>{spoof}</bdi></h1>" in page and "<bdi>Le\u202eeds</bdi>" in page
    for url in ("/businesses?q=Evil", "/"):
        assert f"<bdi>{spoof}</bdi>" in client.get(url).get_data(as_text=True), url
