"""Invariants 1 and 4 over HTTP: a held review's words, thread and draft response reach only its
reviewer, the business's members and moderators; the business never sees the reviewer's email."""

from __future__ import annotations

import pytest

from reviewsite.notifications import delivery
from tests.web.conftest import CANARIES, CANARY_BODY, CANARY_MESSAGE, CANARY_RESPONSE, CANARY_TITLE

PAGES = [
    "/",
    "/businesses",
    "/businesses?q=corner",
    "/businesses?city=leeds",
    "/b/corner-cafe",
    "/b/rival-diner",
    "/reviews/{held_id}",
    "/reviews/{held_id}/edit",
    "/inbox",
    "/me/reviews",
    "/notifications",
    "/dev/mailbox",
    "/dev/mailbox/1",
    "/dev/mailbox/2",
    "/dev/mailbox/3",
    "/reviews/999999",
    "/report/review/{held_id}",
    "/report/message/1",
    "/me/reports",
    "/moderation",
    "/moderation/cases/review/{held_id}",
    "/transparency",
    "/rules",
    "/how-reviews-work",
    "/b/corner-cafe?sort=lowest&window=1",
    "/b/corner-cafe?stars=2",
    "/reviews/{held_id}/release",
    "/reviews/{held_id}/withdraw",
    "/b/corner-cafe/figures",
    "/b/corner-cafe/figures.csv",
    "/settings/time-zone",
    "/confirm",
]


def fetch_all(client, world) -> dict[str, str]:
    pages = {}
    for page in PAGES:
        url = page.format(held_id=world.held_id)
        pages[url] = client.get(url).get_data(as_text=True)
    return pages


@pytest.fixture
def mail_delivered(app, world):
    """Render every queued email into the development mailbox, so mail is checked too."""
    with app.app_context():
        delivery.deliver_pending()


@pytest.mark.parametrize("viewer", [None, "stranger", "rival_owner"])
def test_held_words_never_reach_outsiders(client, world, mail_delivered, viewer):
    if viewer:
        client.login(getattr(world, viewer))
    for url, body in fetch_all(client, world).items():
        for canary in CANARIES:
            assert canary not in body, f"{canary} leaked to {viewer or 'anonymous'} on {url}"


def test_outsiders_get_404_for_the_private_page(client, world):
    assert client.get(f"/reviews/{world.held_id}").status_code == 404
    client.login(world.rival_owner)
    assert client.get(f"/reviews/{world.held_id}").status_code == 404


def test_public_page_shows_the_fact_of_the_complaint(client, world):
    page = client.get("/b/corner-cafe").get_data(as_text=True)
    assert "make-it-right" in page.lower()
    assert "2 out of 5" in page or "★★☆☆☆" in page


@pytest.mark.parametrize("party", ["reviewer", "owner", "moderator"])
def test_the_parties_see_the_words(client, world, party):
    client.login(getattr(world, party))
    page = client.get(f"/reviews/{world.held_id}").get_data(as_text=True)
    for canary in (CANARY_TITLE, CANARY_BODY.split()[0], CANARY_MESSAGE, CANARY_RESPONSE):
        assert canary in page


def test_the_business_never_sees_the_reviewers_email(client, world, mail_delivered):
    client.login(world.owner)
    for url, body in fetch_all(client, world).items():
        if url.startswith("/dev/"):
            continue  # the development mailbox shows every address by design; absent in production
        assert world.reviewer not in body, f"reviewer's email shown to the business on {url}"


@pytest.mark.parametrize(
    "action,data",
    [
        ("messages", {"body": "hello from a rival"}),
        ("response", {"body": "rival response"}),
        ("release", {}),
        ("extend", {"hours": "24"}),
        ("withdraw", {}),
        ("edit", {"stars": "5", "title": "x", "body": "y"}),
    ],
)
def test_another_business_cannot_act_on_the_review(client, world, action, data):
    client.login(world.rival_owner)
    assert client.post(f"/reviews/{world.held_id}/{action}", data).status_code == 404
    client.logout()
    client.login(world.reviewer)
    page = client.get(f"/reviews/{world.held_id}").get_data(as_text=True)
    assert "rival" not in page.lower()
    assert "Private until" in page or "private" in page.lower()


def test_offer_and_accept_through_the_pages(app, client, world):
    client.login(world.owner)
    assert client.post(f"/reviews/{world.held_id}/offers", {"remedy": "refund", "note": "Your money back"}).status_code == 302
    client.logout()
    client.login(world.reviewer)
    page = client.get(f"/reviews/{world.held_id}").get_data(as_text=True)
    assert "Offer: Refund" in page and "Accept this offer" in page
    import re
    accept = re.search(r'action="(/reviews/\d+/offers/\d+/accept)"', page).group(1)
    assert client.post(accept).status_code == 302
    assert "Accepted" in client.get(f"/reviews/{world.held_id}").get_data(as_text=True)
    client.logout()
    client.login(world.rival_owner)
    assert client.post(accept).status_code == 404


def test_a_busy_business_page_lists_a_few_held_reviews_and_counts_the_rest(app, client, world, clock):
    from datetime import timedelta

    from reviewsite.unit_of_work import unit_of_work
    from tests.factories import BusinessFactory, ReviewFactory

    with app.app_context(), unit_of_work():
        busy = BusinessFactory(slug="busy-place", rating_count=25, rating_sum=50)
        for n in range(25):
            ReviewFactory(business=busy, publish_at=clock.now() + timedelta(hours=n + 1))
    page = client.get("/b/busy-place").get_data(as_text=True)
    assert page.count("-star review in the make-it-right window") == 10
    assert "and 15 more in the window" in page
