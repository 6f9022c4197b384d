"""Trust and safety in a real browser: the business makes an offer tied to the review and is
stopped, sends it anyway; the reviewer reports it from inside the thread in two clicks; a
moderator puts a notice on the business; it shows on the business page; the business appeals and
a second moderator decides (the first may not)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from reviewsite.services import accounts, businesses, reviews
from reviewsite.templating import format_day
from reviewsite.unit_of_work import unit_of_work
from tests.helpers import verify_owner
from tests.browser.conftest import LiveServer
from tests.browser.test_journey import watch_console
from tests.helpers import verify_owner

pytestmark = pytest.mark.browser

PASSWORD = "moderation journey password"
BUSINESS = "Quayside Bakery"
CONDITION = "We will refund the cake in full if you update your review to 5 stars."
FACTS = "The offer of a refund was tied to the reviewer changing the review to 5 stars."
APPEAL = "We only meant to apologise; the refund was never conditional."
APPEAL_FACTS = "The note states the condition in so many words; the notice stands."


def person(live_server: LiveServer, email: str, name: str, *, moderator: bool = False):
    now = live_server.clock.now()
    user = accounts.register(email=email, password=PASSWORD, display_name=name, now=now)
    accounts.confirm_email(user, now=now)
    if moderator:
        accounts.make_moderator(user)
    return user


def world(live_server: LiveServer) -> tuple[str, int]:
    with live_server.app.app_context(), unit_of_work():
        owner = person(live_server, "owner.mod@example.com", "Bea Baker")
        shop = businesses.create_business(owner, name=BUSINESS, category="Cafe", city="Hull", address="1 Quay St",
                                          description="Bread and cakes.", website="https://quayside-bakery.example",
                                          now=live_server.clock.now())
        verify_owner(shop, owner, now=live_server.clock.now())  # listing it made nobody a member
        reviewer = person(live_server, "reviewer.mod@example.com", "Rae Reviewer")
        person(live_server, "first.mod@example.com", "Morgan First", moderator=True)
        person(live_server, "second.mod@example.com", "Sasha Second", moderator=True)
        review = reviews.submit_review(reviewer, shop, stars=2, title="Dry sponge", body="The birthday cake was dry.",
                                       now=live_server.clock.now())
        return shop.slug, review.id


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_pressure_reported_in_the_thread_leads_to_a_notice_and_an_appeal(live_server: LiveServer, new_context, a11y):
    slug, review_id = world(live_server)
    errors: dict[str, list[str]] = {}

    # The business makes an offer tied to the review: stopped, with the text kept; sent anyway.
    owner = new_context().new_page()
    errors["owner"] = watch_console(owner)
    log_in(owner, "owner.mod@example.com")
    owner.goto(f"/reviews/{review_id}")
    offer = owner.locator("form.offer-form")
    offer.get_by_label("What you offer").select_option("refund")
    offer.get_by_label("Details").fill(CONDITION)
    offer.get_by_role("button", name="Send offer").click()
    offer = owner.locator("form.offer-form")
    expect(offer.get_by_role("alert")).to_contain_text("offers may never depend on the review")
    expect(offer.get_by_label("Details")).to_have_value(CONDITION)
    a11y(owner, "offer refused for its condition")
    offer.get_by_role("button", name="Send anyway").click()
    expect(owner.get_by_role("status")).to_contain_text("Offer sent.")

    # The reviewer sees it marked, and reports it from the thread in two clicks.
    reviewer = new_context().new_page()
    errors["reviewer"] = watch_console(reviewer)
    log_in(reviewer, "reviewer.mod@example.com")
    reviewer.goto(f"/reviews/{review_id}")
    thread = reviewer.get_by_role("region", name="Private conversation")
    the_offer = thread.get_by_role("listitem").filter(has_text=CONDITION)
    expect(the_offer.get_by_role("note")).to_contain_text("Offers may never depend on your review")
    the_offer.get_by_role("link", name="Report this offer").click()  # click 1
    expect(reviewer.get_by_label("An offer conditioned on the review")).to_be_checked()
    a11y(reviewer, "report form")
    reviewer.get_by_role("button", name="Send the report").click()  # click 2
    expect(reviewer.get_by_role("status")).to_contain_text("Your report went to our moderators")
    reviewer.get_by_role("navigation", name="Main").get_by_role("link", name="My reports").click()
    expect(reviewer.locator("li.card")).to_contain_text("Waiting for a moderator")
    a11y(reviewer, "my reports")

    # A moderator works the queue and puts a notice on the business.
    first = new_context().new_page()
    errors["first moderator"] = watch_console(first)
    log_in(first, "first.mod@example.com")
    first.get_by_role("navigation", name="Main").get_by_role("link", name="Moderation").click()
    first.get_by_role("link", name=f"An offer from {BUSINESS} in a private thread").click()
    expect(first.locator("li.message.reported")).to_contain_text(CONDITION)
    expect(first.get_by_text("Flagged automatically")).to_be_visible()
    a11y(first, "moderation case")
    first.get_by_label("Public notice on the business page").check()
    expect(first.get_by_label("The rule")).to_have_value("conditioned_offer")
    first.get_by_label("The facts you relied on").fill(FACTS)
    first.get_by_role("button", name="Decide").click()
    expect(first.get_by_role("status")).to_contain_text("Decided.")

    # Anyone sees the notice on the business page, on a phone too.
    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    errors["visitor"] = watch_console(phone)
    phone.goto(f"/b/{slug}")
    notice = phone.get_by_role("complementary", name="Notice from our moderators")
    expect(notice).to_contain_text(
        f"This business was found to have pressed a reviewer (an offer conditioned on the review, rule 8), "
        f"on {format_day(live_server.clock.now())}.")
    phone.screenshot(path="/tmp/moderation-notice.png", full_page=True)
    a11y(phone, "business page with a notice")

    # The business reads the statement of reasons from its notifications and appeals.
    live_server.sweep()  # mail goes out; the notice stays
    owner.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Notifications")).click()
    owner.get_by_role("button", name=re.compile(r"Open: A moderator decided about an offer")).click()
    expect(owner.get_by_role("heading", level=1)).to_contain_text("Moderators’ decision")
    expect(owner.get_by_role("region", name="Statement of reasons")).to_contain_text(FACTS)
    a11y(owner, "statement of reasons")
    owner.get_by_label("Why the decision is wrong").fill(APPEAL)
    owner.get_by_role("button", name="Send the appeal").click()
    expect(owner.get_by_role("status")).to_contain_text("A different moderator will look")

    # The moderator who decided may not decide the appeal; the second one does.
    first.goto("/moderation")
    appeals = first.get_by_role("region", name=re.compile("Open appeals"))
    expect(appeals).to_contain_text("Not yours to decide")
    a11y(first, "moderation queue")
    second = new_context().new_page()
    errors["second moderator"] = watch_console(second)
    log_in(second, "second.mod@example.com")
    second.goto("/moderation")
    second.get_by_role("region", name=re.compile("Open appeals")).get_by_role("link").first.click()
    expect(second.get_by_text(APPEAL)).to_be_visible()
    a11y(second, "appeal case")
    second.get_by_label("The decision stands").check()
    second.get_by_label("The facts you relied on").fill(APPEAL_FACTS)
    second.get_by_role("button", name="Decide the appeal").click()
    expect(second.get_by_role("status")).to_contain_text("The appeal is decided.")

    owner.reload()
    appeal = owner.get_by_role("region", name="The appeal")
    expect(appeal).to_contain_text("the decision stands")
    expect(appeal).to_contain_text(APPEAL_FACTS)
    expect(appeal).to_contain_text("This decision on the appeal is final.")
    expect(owner.get_by_role("button", name="Send the appeal")).to_have_count(0)
    phone.goto(f"/b/{slug}")
    expect(phone.get_by_role("complementary", name="Notice from our moderators")).to_be_visible()
    phone.goto("/transparency")
    expect(phone.get_by_role("region", name="Public notices issued")).to_contain_text("An offer conditioned")
    a11y(phone, "transparency report")
    phone.goto("/rules")
    a11y(phone, "rules")

    # The refused offer answered 422 (the form shown again with its message): that one is expected.
    refused = f"422 (UNPROCESSABLE ENTITY) ({live_server.url}/reviews/{review_id}/offers)"
    errors["owner"] = [error for error in errors["owner"] if not error.endswith(refused)]
    assert {who: errs for who, errs in errors.items() if errs} == {}
