"""Issue 14 over HTTP: how reviews work, the record and the histogram on the business page,
reading reviews in an order and a filter, dates as <time> for the reader's zone, the reviewer's
choice, and the small things people tripped over (confirmations, the limit said plainly, the
links a customer and a member each get)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from reviewsite.extensions import cache, db
from reviewsite.models import Business, Notification, RemedyKind, Review, ReviewStatus, ThreadMessage, User
from reviewsite.services import accounts, publication, reviews, thread
from tests.factories import UserFactory
from tests.web.conftest import CANARIES, CANARY_TITLE, act, page_html

PAGE = "/b/corner-cafe"


def shop() -> Business:
    return db.session.scalar(sa.select(Business).where(Business.slug == "corner-cafe"))


def person(email: str) -> User:
    return accounts.find_by_email(email)


def held(world) -> Review:
    return db.session.get(Review, world.held_id)


def publish_reviews(app, clock, *stars_list: int, prefix: str = "Visit") -> None:
    """Published reviews of these stars, a minute apart, oldest first."""

    def run():
        for n, stars in enumerate(stars_list):
            clock.advance(timedelta(minutes=1))
            review = reviews.submit_review(UserFactory(), shop(), stars=stars, title=f"{prefix} {n} ({stars})",
                                           body="Plenty to say.", now=clock.now())
            if review.status is ReviewStatus.HELD:
                publication.release_now(review, review.author, now=clock.now())

    act(app, run)


def titles(html: str) -> list[str]:
    return re.findall(r'<h3 id="review-\d+-title"><a [^>]+>(?:<bdi>)?([^<]+)(?:</bdi>)?</a>', html)


# -- how reviews work -----------------------------------------------------------------------


def test_how_reviews_work_reads_the_mode_it_runs_in(client, world, app):
    html = page_html(client, "/how-reviews-work")
    assert "A review of 3 stars or fewer goes to the business privately first, for 3 days." in html
    assert "at most 7 days in total" in html and "Only the reviewer can give more time." in html
    for heading in ("Who can write a review", "How businesses are verified", "What you see while a review is held",
                    "How reviews are ordered", "Moderation and appeals", "What we do not allow"):
        assert heading in html
    app.config.update(HOLD_POLICY="reviewer_choice", WINDOW_SECONDS=5 * 86400)
    try:
        html = page_html(client, "/how-reviews-work")
        assert "You choose." in html and "giving the business 5 days first" in html
        assert "3 stars or fewer" not in html
    finally:
        app.config.update(HOLD_POLICY="low_stars", WINDOW_SECONDS=72 * 3600)


def test_how_reviews_work_is_linked_from_the_footer_the_business_page_its_placeholders_and_the_forms(client, world):
    business = page_html(client, PAGE)
    placeholder = business[business.index('<li class="placeholder">'):]
    placeholder = placeholder[:placeholder.index("</li>")]
    assert "/how-reviews-work#window" in placeholder
    assert business.count('href="/how-reviews-work"') >= 2  # the footer and the business head
    client.login(world.stranger)
    assert "/how-reviews-work" in page_html(client, "/b/corner-cafe/review")
    client.logout()
    client.login(world.reviewer)
    assert "/how-reviews-work" in page_html(client, f"/reviews/{world.held_id}/edit")


# -- the business page: rating, histogram, record --------------------------------------------


def test_a_3_5_average_is_drawn_and_announced_as_3_5(app, client, world, clock):
    publish_reviews(app, clock, 5)  # with the held 2: 7 / 2 = 3.5
    html = page_html(client, PAGE)
    score = html[html.index('class="aggregate-score"'):]
    score = score[:score.index("</p>")]
    assert "Rated 3.5 out of 5" in score and "4 out of 5" not in score
    assert score.count("star-full") == 3 and score.count("star-half") == 1 and score.count("star-empty") == 1


def test_the_window_note_only_when_a_review_is_held(app, client, world, clock):
    assert "still in its make-it-right window" in page_html(client, PAGE)
    act(app, lambda: publication.release_now(held(world), person(world.owner), now=clock.now()))
    html = page_html(client, PAGE)
    assert "still in its make-it-right window" not in html and "still in their make-it-right window" not in html


def test_the_histogram_counts_every_rating_and_marks_the_held_ones(app, client, world, clock):
    publish_reviews(app, clock, 5, 5, 4, 2)
    html = page_html(client, PAGE)
    bars = re.findall(r'(\d) stars?</(?:a|span)>.*?<span class="histogram-count">(\d+)( <span class="meta">\((\d+) in the window\))?',
                      html, re.S)
    assert [(stars, total, in_window) for stars, total, _, in_window in bars] == [
        ("5", "2", ""), ("4", "1", ""), ("3", "0", ""), ("2", "2", "1"), ("1", "0", "")]
    assert 'href="/b/corner-cafe?stars=5"' in html  # a bar filters the reviews


def test_the_record_is_on_the_page_as_facts_with_their_definitions(app, client, world, clock):
    act(app, lambda: publication.release_now(held(world), person(world.reviewer), now=clock.now()))
    html = page_html(client, PAGE)
    record = html[html.index('id="record-heading"'):html.index('id="reviews-heading"')]
    assert "How <bdi>Corner Cafe</bdi> handles complaints" in record and "the last 12 months" in record
    for figure, value in (("Complaints received", "1"), ("Answered privately within the window", "1 of 1 (100%)"),
                          ("Median time to the first private reply", "1 minute"),
                          ("Marked resolved by the reviewer", "0 of 1 (0%)"),
                          ("Released before the window ended", "1 by the reviewer, 0 by the business"),
                          ("Withdrawn after a remedy was accepted", "0"), ("Published with a public response", "1")):
        assert re.search(rf"<dt>{figure}</dt>\s*<dd><span class=\"figure\">{re.escape(value)}</span>", record), figure
    assert record.count('class="definition"') == 7
    assert "Answered 1 of 1" not in html  # the old one-line "score" is gone


# -- reading reviews as people do ------------------------------------------------------------


def test_sort_by_newest_lowest_highest_and_filter_by_stars_and_window(app, client, world, clock):
    publish_reviews(app, clock, 4, 1, 5, 3)  # the 1 and the 3 went through the window
    assert titles(page_html(client, PAGE)) == ["Visit 3 (3)", "Visit 2 (5)", "Visit 1 (1)", "Visit 0 (4)"]
    assert titles(page_html(client, PAGE + "?sort=lowest")) == ["Visit 1 (1)", "Visit 3 (3)", "Visit 0 (4)",
                                                                 "Visit 2 (5)"]
    assert titles(page_html(client, PAGE + "?sort=highest")) == ["Visit 2 (5)", "Visit 0 (4)", "Visit 3 (3)",
                                                                  "Visit 1 (1)"]
    assert titles(page_html(client, PAGE + "?stars=5")) == ["Visit 2 (5)"]
    window = page_html(client, PAGE + "?window=1&sort=lowest")
    assert titles(window) == ["Visit 1 (1)", "Visit 3 (3)"]
    assert "Showing 2 reviews that went through the make-it-right window, lowest rating first." in window
    assert titles(page_html(client, PAGE + "?stars=2")) == []  # the 2-star one is still held
    assert "No published review matches." in page_html(client, PAGE + "?stars=2")


def test_the_pager_keeps_the_order_and_filter(app, client, world, clock):
    publish_reviews(app, clock, *[5] * 21)
    html = page_html(client, PAGE + "?sort=highest&stars=5")
    assert 'href="/b/corner-cafe?page=2&amp;sort=highest&amp;stars=5"' in html and "Page 1 of 2" in html
    assert len(titles(page_html(client, PAGE + "?page=2&sort=highest&stars=5"))) == 1


@pytest.mark.parametrize("query,message", [
    ("sort=random", "Not a valid choice"), ("stars=6", "Not a valid choice"), ("stars=two", "Not a valid choice"),
    ("window=banana", "either on (1) or off"),
])
def test_an_order_or_filter_out_of_range_is_a_400_page_with_the_reason(client, world, query, message):
    for _ in range(2):  # never stored by the page cache either
        response = client.get(f"{PAGE}?{query}")
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "We cannot show the reviews that way." in html and message in html


def test_each_order_and_filter_is_its_own_cached_page_and_a_repeat_reads_only_the_stamp(app, client, world, clock,
                                                                                          statements):
    publish_reviews(app, clock, 5, 1)
    default, lowest = page_html(client, PAGE), page_html(client, PAGE + "?sort=lowest&window=1")
    assert titles(default) != titles(lowest)
    statements.clear()
    assert page_html(client, PAGE + "?sort=lowest&window=1") == lowest
    assert page_html(client, PAGE) == default
    # Only the stamps (through SQLAlchemy on SQLite; on PostgreSQL straight through the driver,
    # where SQLAlchemy sees nothing: reviewsite/fast_reads.py).
    assert len(statements) <= 2 and all(s.startswith("SELECT business.id, business.created_at") for s in statements)


def test_the_business_page_reads_its_record_and_histogram_in_one_query_each(client, world, statements):
    page_html(client, PAGE)
    record = [s for s in statements if "reply_seconds" in s]
    histogram = [s for s in statements if "through_window" in s]
    assert len(record) == 1 and len(histogram) == 1
    assert len(statements) <= 14, statements  # no query per review


# -- dates for the reader's zone, without making the page depend on the request's time -------


def test_dates_are_time_elements_in_utc_for_visitors_and_the_page_does_not_depend_on_the_clock(client, world, clock):
    html = page_html(client, PAGE)
    assert ('it publishes on <time datetime="2026-03-05T09:00:00+00:00" data-local>05 Mar 2026, 09:00 UTC</time>'
            '<span class="needs-js"> (<time datetime="2026-03-05T09:00:00+00:00" data-relative></time>)</span>') in html
    assert "data-time-zone" not in html
    assert not re.search(r"published (on )?<time", html)  # never "published on" a date still to come
    clock.advance(timedelta(hours=5))  # the same day, no release time passed: the same page
    cache.clear()
    assert page_html(client, PAGE) == html


def test_a_signed_in_person_sees_dates_in_the_zone_they_chose(client, world):
    client.login(world.stranger)
    response = client.post("/settings/time-zone", {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    html = page_html(client, PAGE)
    assert '<html lang="en" data-time-zone="Asia/Tokyo">' in html
    assert '<time datetime="2026-03-05T09:00:00+00:00" data-local>05 Mar 2026, 18:00 JST</time>' in html
    anonymous = page_html(client.__class__(client.app), PAGE)
    assert "JST" not in anonymous and "data-time-zone" not in anonymous


def test_an_unknown_time_zone_is_refused_on_the_form(app, client, world):
    client.login(world.stranger)
    response = client.post("/settings/time-zone", {"time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 422
    assert "is not a time zone we know" in response.get_data(as_text=True)
    with app.app_context():
        assert person(world.stranger).time_zone is None


# -- the reviewer's choice -------------------------------------------------------------------


@pytest.fixture
def choice_mode(app):
    app.config["HOLD_POLICY"] = "reviewer_choice"
    yield
    app.config["HOLD_POLICY"] = "low_stars"


def test_in_reviewer_choice_mode_the_form_asks_with_nothing_chosen_and_refuses_no_answer(app, client, world,
                                                                                          choice_mode):
    client.login(world.stranger)
    form = page_html(client, "/b/corner-cafe/review")
    assert "When should your review be published?" in form
    assert 'value="publish_now"' in form and 'value="window"' in form and "checked" not in form
    assert "Give Corner Cafe 3 days to make it right first, then publish it" in form
    response = client.post("/b/corner-cafe/review", {"stars": "1", "title": "Bad", "body": "Very bad."})
    assert response.status_code == 422
    assert "Choose when your review is published" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 1  # only the world's


def test_a_one_star_review_published_now_by_its_author_is_never_held_and_says_so(app, client, world, choice_mode):
    client.login(world.stranger)
    response = client.post("/b/corner-cafe/review", {"stars": "1", "title": "Awful", "body": "Truly awful.",
                                                     "choice": "publish_now"})
    assert response.status_code == 302
    with app.app_context():
        review = db.session.scalar(sa.select(Review).where(Review.title == "Awful"))
        assert review.status is ReviewStatus.PUBLISHED and review.held_at is None
    html = page_html(client.__class__(client.app), PAGE)
    assert "Awful" in html and "The reviewer chose to publish at once" in html


# -- the small things ------------------------------------------------------------------------


def test_a_10000_character_review_is_refused_with_the_limit_and_kept_for_editing(app, client, world):
    client.login(world.stranger)
    form = page_html(client, "/b/corner-cafe/review")
    assert "maxlength" not in form and 'data-limit="5000"' in form and "Up to 5,000 characters." in form
    body = "x" * 10_000
    response = client.post("/b/corner-cafe/review", {"stars": "4", "title": "Long", "body": body})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Your review can be at most 5,000 characters; this one has 10,000." in html
    assert body in html  # nothing cut: the text is there to shorten
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 1


def test_line_breaks_count_once_as_on_the_counter(client, world):
    client.login(world.stranger)
    body = ("y" * 99 + "\r\n") * 50  # 5,000 characters with one-character line breaks, 5,050 sent
    response = client.post("/b/corner-cafe/review", {"stars": "4", "title": "Lines", "body": body})
    assert response.status_code == 302


def test_someone_who_reviewed_the_business_is_led_to_their_review_not_the_form(client, world):
    client.login(world.reviewer)
    html = page_html(client, PAGE)
    assert f'href="/reviews/{world.held_id}">Your review</a>' in html and "Write a review" not in html
    response = client.get("/b/corner-cafe/review")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/reviews/{world.held_id}")
    assert "You have already reviewed Corner Cafe" in page_html(client, f"/reviews/{world.held_id}")


def test_a_customer_sees_no_inbox_and_no_business_topics_a_member_does(client, world, make_client):
    client.login(world.stranger)
    assert 'href="/inbox"' not in page_html(client, "/")
    settings = page_html(client, "/settings/notifications")
    assert "A review of my business is held" not in settings and "Reminders while nobody has replied" not in settings
    assert "New messages and offers in a private thread" in settings
    owner = make_client()
    owner.login(world.owner)
    assert 'href="/inbox"' in page_html(owner, "/")
    settings = page_html(owner, "/settings/notifications")
    assert "A review of my business is held" in settings and "Reminders while nobody has replied" in settings


def test_a_customers_settings_keep_the_business_topics_they_cannot_see(app, client, world):
    client.login(world.stranger)
    response = client.post("/settings/notifications", {
        "thread_message": "digest", "review_published": "site_only", "review_updates": "email"})
    assert response.status_code == 302


def test_the_confirm_your_email_notice_is_read_once_confirmed_and_leads_to_where_the_address_stands(app, client):
    """Only a confirmed address logs in, so the notice is done with by the time its reader
    sees it: not new, and it leads to the page that says when the address was confirmed."""
    with app.app_context():
        from reviewsite.unit_of_work import unit_of_work

        with unit_of_work():
            user = accounts.register(email="newbie@example.com", password="a long password", display_name="Newbie",
                                     now=app.config["CLOCK"].now())
        notice_id = db.session.scalar(sa.select(Notification.id).where(Notification.recipient_id == user.id))
        token = __import__("reviewsite.services.tokens", fromlist=["x"]).confirmation_token(user)
    assert client.post("/login", {"email": "newbie@example.com", "password": "a long password"}).status_code == 422
    client.get(f"/confirm/{token}")
    client.login("newbie@example.com", "a long password")
    with app.app_context():
        assert db.session.get(Notification, notice_id).read_at is not None
    assert "tag-new" not in page_html(client, "/notifications")
    response = client.post(f"/notifications/{notice_id}/open")
    assert response.headers["Location"].endswith("/confirm")
    assert "Your email address is confirmed" in page_html(client, "/confirm")


def test_an_extension_is_told_to_the_reviewer_in_the_second_person(client, world, make_client):
    client.login(world.reviewer)
    assert client.post(f"/reviews/{world.held_id}/extend", {"hours": "48"}).status_code == 302
    html = page_html(client, f"/reviews/{world.held_id}")
    assert "You gave Corner Cafe 2 days more to make it right." in html and "The reviewer gave" not in html
    owner = make_client()
    owner.login(world.owner)
    assert "<bdi>Casey</bdi> gave Corner Cafe 2 days more to make it right." in page_html(owner, f"/reviews/{world.held_id}")


@pytest.mark.parametrize("action,button", [("release", "Yes, publish it now"), ("withdraw", "Yes, withdraw my review")])
def test_publishing_now_and_withdrawing_ask_first(app, client, world, action, button):
    client.login(world.reviewer)
    private = page_html(client, f"/reviews/{world.held_id}")
    assert f'href="/reviews/{world.held_id}/{action}"' in private  # a link to the question, not a one-click POST
    question = page_html(client, f"/reviews/{world.held_id}/{action}")
    assert button in question and "You cannot undo this" in question
    assert client.post(f"/reviews/{world.held_id}/{action}").status_code == 200  # no confirmation: asked again
    with app.app_context():
        assert held(world).status is ReviewStatus.HELD
    assert client.post(f"/reviews/{world.held_id}/{action}", {"confirm": "yes"}).status_code == 302
    with app.app_context():
        assert held(world).status is not ReviewStatus.HELD


# -- resolution and offers, over HTTP --------------------------------------------------------


def test_resolution_and_a_done_offer_show_in_the_public_history_at_once(app, client, world, clock, make_client):
    def offer_and_accept():
        offer = thread.offer_remedy(held(world), person(world.owner), RemedyKind.REFUND, "Your money back.",
                                    now=clock.now())
        thread.accept_offer(offer, person(world.reviewer), now=clock.now())

    act(app, offer_and_accept)
    reviewer = make_client()
    reviewer.login(world.reviewer)
    assert reviewer.post(f"/reviews/{world.held_id}/resolve", {"note": "Refunded, and kindly."}).status_code == 302
    act(app, lambda: publication.release_now(held(world), person(world.reviewer), now=clock.now()))
    html = page_html(client, PAGE)
    assert "accepted it on" in html and "has not yet confirmed it was done" in html
    assert "marked the complaint resolved on" in html and "Refunded, and kindly." in html
    with app.app_context():
        offer_id = db.session.scalar(sa.select(ThreadMessage.id).where(ThreadMessage.remedy.is_not(None)))
    assert reviewer.post(f"/reviews/{world.held_id}/offers/{offer_id}/done").status_code == 302
    html = page_html(client, PAGE)
    assert "The business offered a refund; the reviewer accepted it on" in html and "confirmed it was done on" in html
    assert "Your money back." not in html  # the offer's note stays in the private thread
    record = html[html.index('id="record-heading"'):html.index('id="reviews-heading"')]
    assert re.search(r"<dt>Marked resolved by the reviewer</dt>\s*<dd><span class=\"figure\">1 of 1", record)


def test_a_resolution_note_on_someone_elses_review_is_refused(app, client, world, make_client):
    stranger = make_client()
    stranger.login(world.stranger)
    assert stranger.post(f"/reviews/{world.held_id}/resolve", {"note": "Not mine"}).status_code == 404
    owner = make_client()
    owner.login(world.owner)
    assert owner.post(f"/reviews/{world.held_id}/resolve", {"note": "All good!"}).status_code == 422
    reviewer = make_client()
    reviewer.login(world.reviewer)
    response = reviewer.post(f"/reviews/{world.held_id}/resolve", {"note": "n" * 501})
    assert response.status_code == 422 and "The note can be at most 500 characters; this one has 501." in \
        response.get_data(as_text=True)
    with app.app_context():
        assert held(world).resolved_at is None


def test_confirming_an_offer_never_accepted_is_a_message_and_changes_nothing(app, client, world, clock):
    act(app, lambda: thread.offer_remedy(held(world), person(world.owner), RemedyKind.CREDIT, "A credit.",
                                         now=clock.now()))
    with app.app_context():
        offer_id = db.session.scalar(sa.select(ThreadMessage.id).where(ThreadMessage.remedy.is_not(None)))
    client.login(world.reviewer)
    page = client.post(f"/reviews/{world.held_id}/offers/{offer_id}/done", follow_redirects=True).get_data(as_text=True)
    assert "You can only confirm an offer you have accepted." in page
    assert client.post(f"/reviews/{world.held_id}/offers/999999/done").status_code == 404
    with app.app_context():
        assert db.session.get(ThreadMessage, offer_id).delivered_at is None


def test_no_held_words_on_the_new_pages(client, world):
    for url in ("/how-reviews-work", PAGE + "?sort=lowest", PAGE + "?window=1", PAGE + "?stars=2",
                f"/reviews/{world.held_id}/release", f"/reviews/{world.held_id}/withdraw", "/b/corner-cafe/figures",
                "/b/corner-cafe/figures.csv"):
        body = client.get(url).get_data(as_text=True)
        for canary in CANARIES:
            assert canary not in body, url
    assert CANARY_TITLE not in page_html(client, PAGE)


def test_the_figures_csv_is_for_the_business_s_members_only(app, client, world, make_client):
    """The same rule as the figures page in the access matrix: members get it, others a 404."""
    assert client.get("/b/corner-cafe/figures.csv").status_code == 302  # to the login page
    for email, status in ((world.stranger, 404), (world.rival_owner, 404), (world.moderator, 404),
                          (world.reviewer, 404), (world.owner, 200)):
        viewer = make_client()
        viewer.login(email)
        response = viewer.get("/b/corner-cafe/figures.csv")
        assert response.status_code == status, email
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("week_starting,complaints_received,windows_ended,answered_within_window")
    assert len(lines) == 27 and lines[-1].split(",")[1] == "1"  # this week: the held complaint
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers["Cache-Control"]
