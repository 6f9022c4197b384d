"""The main journey in a real browser: a low-star review is held, the business makes it right
in private, and the review is published when the window ends, with its history and response."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from reviewsite.services import accounts, businesses
from reviewsite.unit_of_work import unit_of_work
from tests.browser.conftest import LiveServer
from tests.helpers import verify_owner

pytestmark = pytest.mark.browser

OWNER_EMAIL = "owner.journey@example.com"
OWNER_PASSWORD = "owner journey password"
CUSTOMER_EMAIL = "casey.journey@example.com"
CUSTOMER_NAME = "Casey Journey"
CUSTOMER_PASSWORD = "customer journey password"
BUSINESS_NAME = "Harbour Noodle Bar"
TITLE = "Cold noodles and a long wait"
BODY = "We waited fifty minutes and the broth was lukewarm. CANARY-JOURNEY-4d1e"
CANARY = "CANARY-JOURNEY-4d1e"
MESSAGE = "Sorry about that, Casey. May we refund your order and invite you back?"
RESPONSE = "We fixed the broth heater the same evening and refunded the order. Thank you for telling us."
WINDOW = timedelta(hours=72)
COUNTDOWN = re.compile(r"\d+ d \d\d h \d\d min \d\d s left")


def local(instant) -> str:
    """An instant as static/local-time.js writes it for a reader in UTC (the browser's zone here)."""
    return f"{instant.day} {instant:%b %Y, %H:%M} UTC"


def watch_console(page: Page) -> list[str]:
    """Collect console errors (a missing asset, a script error) and uncaught exceptions."""
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        url = msg.location.get("url", "")
        if msg.type == "error":
            errors.append(f"console: {msg.text} ({url})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors


def create_owner_and_business(live_server: LiveServer) -> str:
    now = live_server.clock.now()
    with live_server.app.app_context(), unit_of_work():
        owner = accounts.register(email=OWNER_EMAIL, password=OWNER_PASSWORD, display_name="Olive Owner", now=now)
        accounts.confirm_email(owner, now=now)
        business = businesses.create_business(
            owner, name=BUSINESS_NAME, category="Restaurant", city="Whitby", address="3 Pier Road",
            description="Hand-pulled noodles by the harbour.", website="https://harbour-noodles.example",
            despite_duplicates=True, now=now)
        # The owner proves it (tests/browser/test_claim_journey.py does it in the browser).
        verify_owner(business, owner, now=now)
        return business.slug


def test_held_review_journey(live_server: LiveServer, new_context, a11y) -> None:
    start = live_server.clock.now()
    slug = create_owner_and_business(live_server)
    console_errors: dict[str, list[str]] = {}

    # 1. The customer signs up and confirms the address from the development mailbox.
    customer = new_context().new_page()
    console_errors["customer"] = watch_console(customer)
    customer.goto("/signup")
    customer.get_by_label("Email", exact=True).fill(CUSTOMER_EMAIL)
    customer.get_by_label("Name shown with your reviews").fill(CUSTOMER_NAME)
    customer.get_by_label("Password", exact=True).fill(CUSTOMER_PASSWORD)
    customer.get_by_label("Repeat password").fill(CUSTOMER_PASSWORD)
    a11y(customer, "sign-up")
    customer.get_by_role("button", name="Create account").click()
    # The same page whether or not the address has an account: the mail says which.
    expect(customer.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(customer.get_by_role("status")).to_contain_text(f"We sent an email to {CUSTOMER_EMAIL}.")
    expect(customer.get_by_role("button", name="Log out")).to_have_count(0)
    a11y(customer, "check your email")

    assert "published=0" in live_server.sweep()  # delivers the confirmation mail
    customer.get_by_role("link", name="Development mailbox").click()
    a11y(customer, "development mailbox")
    customer.get_by_role("listitem").filter(has_text=CUSTOMER_EMAIL).get_by_role(
        "link", name="Confirm your email address").click()
    expect(customer.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    a11y(customer, "a mail in the development mailbox")
    # (slashes escaped: Playwright passes the pattern on as a JavaScript /regex/)
    confirm_url = re.compile(re.escape(f"{live_server.url}/confirm/").replace("/", r"\/"))
    confirm_link = customer.get_by_role("link", name=confirm_url)
    expect(confirm_link).to_have_count(1)  # the link is built from SITE_URL
    confirm_link.click()
    expect(customer.get_by_role("status")).to_contain_text("Your email address is confirmed.")
    expect(customer.get_by_role("heading", level=1)).to_have_text("Log in")
    customer.get_by_label("Email").fill(CUSTOMER_EMAIL)
    customer.get_by_label("Password").fill(CUSTOMER_PASSWORD)
    customer.get_by_role("button", name="Log in").click()
    expect(customer.get_by_text(f"Signed in as {CUSTOMER_NAME}")).to_be_visible()

    # 2. The customer finds the business and writes a 2-star review.
    customer.get_by_role("link", name="reviewsite").first.click()
    search = customer.get_by_role("search", name="Find a business")
    search.get_by_label("Name").fill("noodle")
    search.get_by_role("button", name="Search").click()
    expect(customer.get_by_text("1 business found.")).to_be_visible()
    a11y(customer, "search results")
    customer.get_by_role("link", name=BUSINESS_NAME).click()
    expect(customer.get_by_role("heading", level=1)).to_have_text(BUSINESS_NAME)
    a11y(customer, "business page")
    customer.get_by_role("link", name="Write a review").click()
    a11y(customer, "review form")
    customer.get_by_label("2 stars: poor").check()
    customer.get_by_label("Title").fill(TITLE)
    customer.get_by_label("Your review", exact=True).fill(BODY)
    customer.get_by_role("button", name="Send the review").click()
    expect(customer.get_by_role("status")).to_contain_text("hears it privately first")
    expect(customer.get_by_role("heading", level=1)).to_have_text(f"Your review of {BUSINESS_NAME}")
    review_url = customer.url
    a11y(customer, "held review, the reviewer's page")
    assert re.search(r"/reviews/\d+$", review_url), review_url
    publish_at = start + WINDOW

    visitor = new_context().new_page()
    console_errors["visitor"] = watch_console(visitor)
    visitor.goto(f"/b/{slug}")
    placeholder = visitor.locator("li.placeholder")
    expect(placeholder).to_have_count(1)
    expect(placeholder).to_contain_text("2 out of 5 stars")
    expect(placeholder).to_contain_text("make-it-right window")
    expect(placeholder).to_contain_text(f"it publishes on {local(publish_at)} (in 3 days)")
    a11y(visitor, "business page with a placeholder")
    expect(visitor.get_by_text("No published reviews yet.")).to_be_visible()
    html = visitor.content()
    assert CANARY not in html and TITLE not in html
    probe = visitor.context.new_page()  # a held review's own page is a 404 for the public
    assert probe.goto(review_url).status == 404
    assert CANARY not in probe.content()
    probe.close()

    # 3. The owner opens the inbox, writes to the customer and drafts the public response.
    owner = new_context().new_page()
    console_errors["owner"] = watch_console(owner)
    owner.goto("/login")
    owner.get_by_label("Email").fill(OWNER_EMAIL)
    owner.get_by_label("Password").fill(OWNER_PASSWORD)
    a11y(owner, "log in")
    owner.get_by_role("button", name="Log in").click()
    owner.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    a11y(owner, "inbox")
    card = owner.locator("li.card").filter(has_text=TITLE)
    expect(card).to_contain_text("Not yet replied")
    expect(card.locator("time[data-countdown]")).to_have_text(COUNTDOWN)
    card.get_by_role("link", name=f"Open the review “{TITLE}”").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(f"Review of {BUSINESS_NAME} by {CUSTOMER_NAME}")
    expect(owner.locator(".user-text").first).to_have_text(BODY)
    a11y(owner, "held review, the business's page")
    owner.get_by_role("textbox", name="Message").fill(MESSAGE)
    owner.get_by_role("button", name="Send message").click()
    expect(owner.get_by_role("status")).to_contain_text("Message sent.")
    thread = owner.get_by_role("region", name="Private conversation")
    expect(thread.get_by_role("listitem").filter(has_text=MESSAGE)).to_contain_text("Olive Owner")
    owner.get_by_role("textbox", name="Public response").fill(RESPONSE)
    owner.get_by_role("button", name="Save draft response").click()
    expect(owner.get_by_role("status")).to_contain_text("Response saved.")
    expect(owner.get_by_role("textbox", name="Public response")).to_have_value(RESPONSE)

    # 4. The customer sees the owner's message in the thread.
    customer.goto(review_url)
    thread = customer.get_by_role("region", name="Private conversation")
    expect(thread.get_by_role("listitem").filter(has_text=MESSAGE)).to_contain_text(f"for {BUSINESS_NAME}")

    # 5. The window ends; the sweep publishes the review with no human step.
    published_at = live_server.clock.advance(WINDOW + timedelta(minutes=1))
    output = live_server.sweep()
    assert "published=1" in output, output

    # 6. Anyone can now read the review, the response and its history.
    visitor.goto(f"/b/{slug}")
    expect(visitor.locator("li.placeholder")).to_have_count(0)
    review = visitor.get_by_role("article", name=TITLE)
    expect(review.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(review).to_contain_text(CANARY)
    expect(review).to_contain_text(f"By {CUSTOMER_NAME}")
    expect(review.get_by_role("heading", name=f"Response from {BUSINESS_NAME}")).to_be_visible()
    expect(review).to_contain_text(RESPONSE)
    history = review.locator(".history")
    expect(history.get_by_role("heading", name="History")).to_be_visible()
    expect(history).to_contain_text(
        f"Held privately in the make-it-right window from {local(start)} to {local(published_at)}.")
    expect(history).to_contain_text("Published automatically when the window ended.")
    expect(history).to_contain_text(f"The business first replied privately on {local(start)}.")
    answered = visitor.get_by_role("region", name=f"How {BUSINESS_NAME} handles complaints").locator(
        "div", has=visitor.locator("dt", has_text="Answered privately within the window"))
    expect(answered).to_contain_text("1 of 1 (100%)")
    a11y(visitor, "business page with the published review")
    assert MESSAGE not in visitor.content()  # the private thread stays private

    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    console_errors["phone"] = watch_console(phone)
    phone.goto(f"/b/{slug}")
    expect(phone.get_by_role("article", name=TITLE)).to_contain_text(RESPONSE)
    phone.screenshot(path="/tmp/journey-business.png", full_page=True)
    a11y(phone, "business page on a phone")

    assert {who: errs for who, errs in console_errors.items() if errs} == {}
