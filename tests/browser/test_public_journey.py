"""Honest in public, in a real browser (issue 14): a visitor in New York reads a business's
record, histogram and reviews in their own time zone, orders and filters them, and learns how the
window works; a signed-in customer chooses Tokyo time, writes a review past the limit and is told,
asks to withdraw and to publish now and is asked first, marks the complaint resolved and confirms
an offer was done; the owner reads the figures over time and downloads them; and in
reviewer-choice mode the review form asks when to publish. axe-core checks every page."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from reviewsite.extensions import db
from reviewsite.models import Business, RemedyKind
from reviewsite.services import accounts, businesses, publication, reviews, thread
from reviewsite.unit_of_work import unit_of_work
from tests.browser.conftest import LiveServer
from tests.browser.test_journey import watch_console
from tests.helpers import verify_owner

pytestmark = pytest.mark.browser

PASSWORD = "public journey password"
OWNER, CUSTOMER, OTHER = "olive.public@example.com", "casey.public@example.com", "robin.public@example.com"
NAME = "Lighthouse Fish Bar"
NEW_YORK, TOKYO = ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")


def a_business_with_a_past(live_server: LiveServer) -> tuple[str, object]:
    """A business with a review that went through the window (answered, an accepted offer, a
    response), a 5-star review, and a held one: the rating is 3.5 with one held."""
    now = live_server.clock.now()
    with live_server.app.app_context(), unit_of_work():
        people = {}
        for email, name in ((OWNER, "Olive Fisher"), (CUSTOMER, "Casey Public"), (OTHER, "Robin Other")):
            people[email] = accounts.register(email=email, password=PASSWORD, display_name=name, now=now)
            accounts.confirm_email(people[email], now=now)
        shop = businesses.create_business(people[OWNER], name=NAME, category="Restaurant", city="Whitby",
                                          address="2 Pier Road", description="Fish and chips.",
                                          website="https://lighthouse-fish.example", despite_duplicates=True, now=now)
        verify_owner(shop, people[OWNER], now=now)
        past = reviews.submit_review(people[CUSTOMER], shop, stars=2, title="Soggy chips", body="Soggy and cold.",
                                     now=now - timedelta(days=5))
        thread.reply(past, people[OWNER], "So sorry. May we refund you?", now=now - timedelta(days=5, hours=-2))
        offer = thread.offer_remedy(past, people[OWNER], RemedyKind.REFUND, "A full refund.",
                                    now=now - timedelta(days=5, hours=-3))
        thread.accept_offer(offer, people[CUSTOMER], now=now - timedelta(days=5, hours=-4))
        reviews.save_response(past, people[OWNER], "We replaced the fryer oil that night.", now=now - timedelta(days=4))
        publication.release_now(past, people[OWNER], now=now - timedelta(days=4))
        reviews.submit_review(people[OTHER], shop, stars=5, title="Best haddock", body="Crisp and fresh.",
                              now=now - timedelta(days=1))
        businesses.create_business(people[OTHER], name="Harbour Kiosk", category="Restaurant", city="Whitby",
                                   address="9 Pier Road", description="", despite_duplicates=True, now=now)
        third = accounts.register(email="sam.public@example.com", password=PASSWORD, display_name="Sam", now=now)
        accounts.confirm_email(third, now=now)
        held = reviews.submit_review(third, shop, stars=3, title="Slow on a Saturday", body="Forty minutes.", now=now)
        return shop.slug, held.publish_at


def log_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_honest_in_public_journey(live_server: LiveServer, new_context, a11y) -> None:
    slug, publish_at = a_business_with_a_past(live_server)
    errors: dict[str, list[str]] = {}

    # 1. A visitor in New York: the record, the histogram, dates in their own zone.
    visitor = new_context(timezone_id="America/New_York").new_page()
    visitor.clock.set_system_time(live_server.clock.now())  # the browser's clock is the server's frozen one
    errors["visitor"] = watch_console(visitor)
    visitor.goto(f"/b/{slug}")
    a11y(visitor, "business page")
    expect(visitor.locator(".aggregate-score")).to_contain_text("from 3 ratings")
    expect(visitor.locator(".aggregate-score .visually-hidden")).to_have_text("Rated 3.3 out of 5")
    expect(visitor.get_by_text("The rating counts 1 review still in its make-it-right window")).to_be_visible()
    record = visitor.get_by_role("region", name=f"How {NAME} handles complaints")
    expect(record).to_contain_text("Complaints received")
    expect(record.locator("dt", has_text="Answered privately within the window").locator("xpath=..")).to_contain_text(
        "1 of 1 (100%)")
    expect(record.locator("dt", has_text="Released before the window ended").locator("xpath=..")).to_contain_text(
        "0 by the reviewer, 1 by the business")
    placeholder = visitor.locator("li.placeholder")
    local = publish_at.astimezone(NEW_YORK)
    expect(placeholder.locator("time[data-local]").nth(1)).to_contain_text(f"{local.day} {local:%b %Y, %H:%M}")
    expect(placeholder.locator("time[data-relative]")).to_have_text("in 3 days")
    assert "UTC" in placeholder.locator("time[data-local]").nth(1).get_attribute("title")
    visitor.screenshot(path="/tmp/public-journey-business.png", full_page=True)

    # 2. How the window works, from the placeholder.
    placeholder.get_by_role("link", name="How the window works").click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text("How reviews work")
    expect(visitor.get_by_text("A review of 3 stars or fewer goes to the business privately first")).to_be_visible()
    a11y(visitor, "how reviews work")
    visitor.go_back()

    # 3. Lowest first, only those that went through the window.
    filters = visitor.get_by_role("form", name="Order and filter the reviews")
    filters.get_by_label("Order").select_option("lowest")
    filters.get_by_label("Only reviews that went through the make-it-right window").check()
    filters.get_by_role("button", name="Show").click()
    assert re.search(r"sort=lowest", visitor.url) and "window=1" in visitor.url
    expect(visitor.locator(".filter-summary")).to_contain_text("Showing 1 review that went through the make-it-right window")
    article = visitor.get_by_role("article", name="Soggy chips")
    expect(article).to_contain_text("The business offered a refund; the reviewer accepted it on")
    a11y(visitor, "filtered business page")
    article.get_by_role("link", name="Soggy chips").click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Soggy chips")
    a11y(visitor, "public review page")

    # 4. The reviewer of the past complaint chooses Tokyo time; the page follows it, not the browser.
    customer = new_context(timezone_id="America/New_York").new_page()
    errors["customer"] = watch_console(customer)
    log_in(customer, CUSTOMER)
    expect(customer.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox")).to_have_count(0)
    customer.get_by_role("link", name="Time zone").click()
    a11y(customer, "time zone settings")
    customer.get_by_label("Show dates in").select_option("Asia/Tokyo")
    customer.get_by_role("button", name="Save").click()
    expect(customer.get_by_role("status")).to_contain_text("Dates are now shown in Asia/Tokyo")
    customer.goto(f"/b/{slug}")
    tokyo = publish_at.astimezone(TOKYO)
    expect(customer.locator("li.placeholder time[data-local]").nth(1)).to_contain_text(
        f"{tokyo.day} {tokyo:%b %Y, %H:%M}")
    expect(customer.get_by_role("link", name="Your review")).to_be_visible()
    expect(customer.get_by_role("link", name="Write a review")).to_have_count(0)
    a11y(customer, "business page, signed in")

    # 5. The reviewer marks the complaint resolved and confirms the refund arrived.
    customer.get_by_role("link", name="Your review").click()
    a11y(customer, "private page of a published review")
    customer.get_by_role("button", name="Confirm I received it").click()
    expect(customer.get_by_role("status")).to_contain_text("You confirmed the offer was delivered.")
    customer.get_by_label("A note for readers (optional)").fill("Refunded the same evening, and kindly.")
    customer.get_by_role("button", name="Mark it resolved").click()
    expect(customer.get_by_role("status")).to_contain_text("You marked the complaint resolved.")
    history = customer.locator(".history")
    expect(history).to_contain_text("confirmed it was done on")
    expect(history).to_contain_text("Refunded the same evening, and kindly.")

    # 6. Another review: the counter and the limit, said plainly, nothing cut.
    with live_server.app.app_context():
        other = db.session.scalar(db.select(Business).where(Business.name == "Harbour Kiosk"))
        other_slug = other.slug
    customer.goto(f"/b/{other_slug}")
    customer.get_by_role("link", name="Write a review").click()
    expect(customer.get_by_role("link", name="How reviews work").first).to_be_visible()
    a11y(customer, "review form")
    body = customer.get_by_label("Your review", exact=True)
    body.fill("x" * 10_000)
    expect(customer.locator("#body-counter")).to_contain_text("10,000 of 5,000 characters: 5,000 too many")
    customer.get_by_label("2 stars: poor").check()
    customer.get_by_label("Title").fill("Cold tea")
    customer.get_by_role("button", name="Send the review").click()
    expect(customer.get_by_text("Your review can be at most 5,000 characters; this one has 10,000.")).to_be_visible()
    assert len(body.input_value()) == 10_000
    a11y(customer, "review form with an error")
    body.fill("The tea was cold and nobody came back to the table.")
    expect(customer.locator("#body-counter")).to_contain_text("51 of 5,000 characters")
    customer.get_by_role("button", name="Send the review").click()
    expect(customer.get_by_role("status")).to_contain_text("hears it privately first")
    held_url = customer.url
    a11y(customer, "private page of a held review")

    # 7. Withdraw and publish now ask first.
    customer.get_by_role("link", name="Withdraw").click()
    expect(customer.get_by_role("heading", level=1)).to_have_text("Withdraw your review?")
    a11y(customer, "withdraw confirmation")
    customer.get_by_role("link", name="No, keep it").click()
    assert customer.url == held_url
    customer.get_by_role("region", name="What you can do").get_by_role("link", name="Release now").click()
    expect(customer.get_by_role("heading", level=1)).to_have_text("Publish the review now?")
    a11y(customer, "release confirmation")
    customer.get_by_role("button", name="Yes, publish it now").click()
    expect(customer.get_by_role("status")).to_contain_text("The review is now public.")

    # 8. The owner's figures, with a table for each chart and the CSV.
    owner = new_context().new_page()
    errors["owner"] = watch_console(owner)
    log_in(owner, OWNER)
    owner.goto(f"/b/{slug}")
    owner.get_by_role("link", name="Your figures").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Your make-it-right figures")
    expect(owner.locator("svg.chart-svg")).to_have_count(5)
    expect(owner.locator("section.chart table")).to_have_count(5)
    expect(owner.get_by_role("table", name="Complaints received per week, per week")).to_be_attached()
    a11y(owner, "owner's figures")
    owner.screenshot(path="/tmp/public-journey-figures.png", full_page=True)
    with owner.expect_download() as download:
        owner.get_by_role("link", name="Download as CSV").click()
    lines = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert lines[0].startswith("week_starting,complaints_received,windows_ended") and len(lines) == 27
    owner.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    a11y(owner, "inbox")
    owner.goto("/settings/notifications")
    expect(owner.get_by_text("A review of my business is held")).to_be_visible()
    a11y(owner, "notification settings")

    # 9. Reviewer-choice mode: the form asks, nothing chosen; a low rating published now stays public.
    live_server.app.config["HOLD_POLICY"] = "reviewer_choice"
    try:
        robin = new_context().new_page()
        errors["robin"] = watch_console(robin)
        log_in(robin, "sam.public@example.com")
        robin.goto(f"/b/{other_slug}/review")
        choice = robin.get_by_role("group", name="When should your review be published?")
        expect(choice.get_by_role("radio")).to_have_count(2)
        for radio in choice.get_by_role("radio").all():
            expect(radio).not_to_be_checked()
        a11y(robin, "review form, reviewer's choice")
        robin.get_by_label("1 star: bad").check()
        robin.get_by_label("Title").fill("Closed early")
        robin.get_by_label("Your review", exact=True).fill("The sign said open until nine; it closed at seven.")
        choice.get_by_label("Publish it now").check()
        robin.get_by_role("button", name="Send the review").click()
        expect(robin.get_by_role("status")).to_contain_text("Your review is published.")
        robin.goto(f"/b/{other_slug}")
        expect(robin.get_by_role("article", name="Closed early")).to_contain_text(
            "The reviewer chose to publish at once")
        a11y(robin, "business page, reviewer's choice")
    finally:
        live_server.app.config["HOLD_POLICY"] = "low_stars"

    # The refused review (10,000 characters) answered 422 on purpose; anything else is a fault.
    refused = re.compile(r"status of 422 .*/review\)$")
    assert {who: [e for e in found if not refused.search(e)] for who, found in errors.items()
            if any(not refused.search(e) for e in found)} == {}
