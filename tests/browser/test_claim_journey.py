"""The claim journey in a real browser (issue 12): a person lists their business (past a likely
duplicate), claims it through the link mailed to an address at its website's domain, sees the
held review that was waiting, invites a staff member who signs up and accepts, and the staff
member answers the held review and releases it; the reviewer sees who answered, for which
business."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from reviewsite.extensions import db
from reviewsite.models import Business
from reviewsite.services import accounts, businesses, reviews
from reviewsite.unit_of_work import unit_of_work
from tests.browser.conftest import LiveServer
from tests.browser.test_journey import watch_console

pytestmark = pytest.mark.browser

OWNER_EMAIL, OWNER_PASSWORD = "olive.claim@example.com", "owner claim password"
CUSTOMER_EMAIL, CUSTOMER_PASSWORD = "casey.claim@example.com", "customer claim password"
STAFF_EMAIL, STAFF_PASSWORD, STAFF_NAME = "sam.claim@example.com", "staff claim password", "Sam Staff"
NAME, CITY, DOMAIN = "Harbour Bakery", "Whitby", "harbour-bakery.example"
CLAIM_ADDRESS = f"olive@{DOMAIN}"
TITLE = "Stale bread and no apology"
CANARY = "CANARY-CLAIM-8c2a"
ANSWER = "I am sorry, Casey. Come back on Saturday and the loaf is on us."


def people(live_server: LiveServer) -> None:
    now = live_server.clock.now()
    with live_server.app.app_context(), unit_of_work():
        for email, password, name in ((OWNER_EMAIL, OWNER_PASSWORD, "Olive Baker"),
                                      (CUSTOMER_EMAIL, CUSTOMER_PASSWORD, "Casey Claim")):
            user = accounts.register(email=email, password=password, display_name=name, now=now)
            accounts.confirm_email(user, now=now)
        lister = accounts.register(email="someone.else@example.com", password="someone else password",
                                   display_name="Someone", now=now)
        accounts.confirm_email(lister, now=now)
        # Another bakery on the same quay: the form will ask whether it is the same one.
        businesses.create_business(lister, name="Harbour Bakehouse", category="Shop", city=CITY,
                                   address="9 Quay Street", description="", now=now)


def a_held_review(live_server: LiveServer, slug: str) -> None:
    with live_server.app.app_context(), unit_of_work():
        customer = accounts.find_by_email(CUSTOMER_EMAIL)
        business = db.session.scalar(db.select(Business).where(Business.slug == slug))
        reviews.submit_review(customer, business, stars=2, title=TITLE, body=f"The sourdough was stale. {CANARY}",
                              now=live_server.clock.now())


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def open_mail_to(page: Page, address: str, subject: str) -> None:
    page.goto("/dev/mailbox")
    page.get_by_role("listitem").filter(has_text=address).get_by_role("link", name=subject).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)


def test_claim_journey(live_server: LiveServer, new_context, a11y) -> None:
    people(live_server)
    errors: dict[str, list[str]] = {}

    # 1. The owner lists the business; the form asks about the similar bakery first.
    owner = new_context().new_page()
    errors["owner"] = watch_console(owner)
    log_in(owner, OWNER_EMAIL, OWNER_PASSWORD)
    owner.get_by_role("link", name="List a business").click()
    owner.get_by_label("Business name").fill(NAME)
    owner.get_by_label("Category").select_option("Shop")
    owner.get_by_label("City").fill(CITY)
    owner.get_by_label("Address").fill("5 Quay Street")
    owner.get_by_label("Website").fill(f"https://www.{DOMAIN}/")
    owner.get_by_role("button", name="List the business").click()
    duplicates = owner.get_by_role("region", name="Is it one of these?")
    a11y(owner, "likely duplicates")
    expect(duplicates.get_by_role("link", name="Harbour Bakehouse")).to_be_visible()
    duplicates.get_by_role("button", name="None of these: list it anyway").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(NAME)
    expect(owner.get_by_role("status")).to_contain_text("claim it")
    expect(owner.get_by_text("Unclaimed")).to_be_visible()
    slug = owner.url.rstrip("/").rsplit("/", 1)[1]

    # 2. A customer's low-star review waits; the owner, not yet verified, cannot read it.
    a_held_review(live_server, slug)
    owner.reload()
    expect(owner.locator("li.placeholder")).to_contain_text("has not claimed this page yet")
    owner.screenshot(path="/tmp/claim-journey-unclaimed.png", full_page=True)
    a11y(owner, "unclaimed business page")
    # Listing a business makes nobody its member: no inbox link yet, and the inbox is empty.
    expect(owner.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox")).to_have_count(0)
    owner.goto("/inbox")
    expect(owner.get_by_text("You do not act for any business yet.")).to_be_visible()
    assert CANARY not in owner.content() and TITLE not in owner.content()

    # 3. The owner claims it by a link to an address at the website's domain.
    owner.goto(f"/b/{slug}")
    owner.get_by_role("link", name="Do you run it? Claim it").click()
    owner.get_by_label(f"Send a link to my address at {DOMAIN}").check()
    owner.get_by_label("Your address at the business's domain").fill(CLAIM_ADDRESS)
    owner.screenshot(path="/tmp/claim-journey-claim-form.png", full_page=True)
    a11y(owner, "claim form")
    owner.get_by_role("button", name="Claim the business").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(f"Your claim of {NAME}")
    expect(owner.get_by_text(f"We sent a link to {CLAIM_ADDRESS}")).to_be_visible()
    a11y(owner, "pending claim")
    live_server.sweep()
    open_mail_to(owner, CLAIM_ADDRESS, f"Confirm that you run {NAME}")
    owner.get_by_role("link", name=re.compile(r"claims\/verify\/")).click()
    a11y(owner, "claim link page")
    owner.get_by_role("button", name=f"Confirm that I run {NAME}").click()
    expect(owner.get_by_role("status")).to_contain_text(f"you are an owner of {NAME}")
    card = owner.locator("li.card").filter(has_text=TITLE)
    expect(card).to_contain_text("Not yet replied")
    owner.goto(f"/b/{slug}")
    expect(owner.get_by_text("Unclaimed")).to_have_count(0)

    # 4. The owner invites a staff member, who has no account yet.
    owner.get_by_role("link", name="Team").click()
    a11y(owner, "team page")
    owner.get_by_label("Their email address").fill(STAFF_EMAIL)
    owner.get_by_label("Role").select_option("staff")
    owner.get_by_role("button", name="Send the invitation").click()
    expect(owner.get_by_role("status")).to_contain_text(f"Invitation sent to {STAFF_EMAIL}")
    live_server.sweep()

    staff = new_context().new_page()
    errors["staff"] = watch_console(staff)
    open_mail_to(staff, STAFF_EMAIL, f"Olive Baker invites you to join {NAME}")
    staff.get_by_role("link", name=re.compile(r"\/invitations\/")).click()
    expect(staff.get_by_role("heading", level=1)).to_have_text(f"Join the team of {NAME}")
    a11y(staff, "invitation")
    staff.get_by_role("link", name="Create an account").click()
    staff.get_by_label("Email", exact=True).fill(STAFF_EMAIL)
    staff.get_by_label("Name shown with your reviews").fill(STAFF_NAME)
    staff.get_by_label("Password", exact=True).fill(STAFF_PASSWORD)
    staff.get_by_label("Repeat password").fill(STAFF_PASSWORD)
    staff.get_by_role("button", name="Create account").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Check your email")
    # The link in the confirmation mail, then the log-in, lead back to the invitation.
    live_server.sweep()
    open_mail_to(staff, STAFF_EMAIL, "Confirm your email address")
    staff.get_by_role("link", name=re.compile(r"\/confirm\/")).click()
    expect(staff.get_by_role("status").first).to_contain_text("Your email address is confirmed.")
    staff.get_by_label("Email").fill(STAFF_EMAIL)
    staff.get_by_label("Password").fill(STAFF_PASSWORD)
    staff.get_by_role("button", name="Log in").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text(f"Join the team of {NAME}")
    staff.get_by_role("button", name="Accept the invitation").click()
    expect(staff.get_by_role("status")).to_contain_text(f"Welcome to the team of {NAME}")

    # 5. The staff member answers the held review.
    staff.locator("li.card").filter(has_text=TITLE).get_by_role("link", name=f"Open the review “{TITLE}”").click()
    expect(staff.locator(".user-text").first).to_contain_text(CANARY)
    staff.get_by_role("textbox", name="Message").fill(ANSWER)
    staff.get_by_role("button", name="Send message").click()
    expect(staff.get_by_role("status")).to_contain_text("Message sent.")

    # 6. The reviewer sees the answer, by name and for the business, and no address.
    customer = new_context().new_page()
    errors["customer"] = watch_console(customer)
    log_in(customer, CUSTOMER_EMAIL, CUSTOMER_PASSWORD)
    customer.get_by_role("link", name="My reviews").click()
    customer.get_by_role("link", name=TITLE).click()
    message = customer.get_by_role("region", name="Private conversation").get_by_role("listitem").filter(has_text=ANSWER)
    expect(message).to_contain_text(STAFF_NAME)
    expect(message).to_contain_text(f"for {NAME}")
    assert STAFF_EMAIL not in customer.content() and OWNER_EMAIL not in customer.content()

    # 7. Staff may also release the review now (it is published with no window left to wait for).
    staff.reload()
    staff.get_by_role("region", name="Publish now").get_by_role("link", name="Release now").click()
    a11y(staff, "release confirmation, the business's side")
    staff.get_by_role("button", name="Yes, publish it now").click()
    expect(staff.get_by_role("status")).to_contain_text("The review is now public.")

    # 8. The team page on a phone: the owner sees the new member.
    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    errors["phone"] = watch_console(phone)
    log_in(phone, OWNER_EMAIL, OWNER_PASSWORD)
    phone.goto(f"/b/{slug}/team")
    expect(phone.locator("li.card").filter(has_text=STAFF_NAME)).to_contain_text("staff")
    phone.screenshot(path="/tmp/claim-journey-team.png", full_page=True)
    a11y(phone, "team page on a phone")
    phone.goto(f"/b/{slug}/edit")
    a11y(phone, "listing edit page")
    phone.goto(f"/b/{slug}/history")
    a11y(phone, "listing history")

    assert {who: found for who, found in errors.items() if found} == {}
