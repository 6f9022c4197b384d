"""Trust and safety over HTTP: who reaches the queue and the cases (the access matrix extended),
reporting from the pages, deciding, appealing, the business page's notice and removal lines, the
transparency page, and bad input: a clear message or the right 4xx, nothing half-written."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import Appeal, Decision, ModerationEvent, Notification, Report, ThreadMessage
from reviewsite.services import appeals, decisions, moderated_items, reports, reviews, thread
from reviewsite.unit_of_work import unit_of_work
from tests.factories import BusinessFactory, MembershipFactory, UserFactory
from tests.web.conftest import act, page_html

FACTS = "The review names a member of staff and her street."
CONDITION = "We will refund you in full if you update your review to 5 stars."


@pytest.fixture
def site(app, db_connection, clock):
    """A business with a published review (with a response) and a held one with a thread."""
    with app.app_context(), unit_of_work():
        shop = BusinessFactory(name="Corner Cafe", slug="corner-cafe")
        owner = UserFactory(email="owner@example.com", display_name="Olive")
        MembershipFactory(business=shop, user=owner)
        happy = UserFactory(email="happy@example.com", display_name="Hal")
        reviewer = UserFactory(email="reviewer@example.com", display_name="Casey")
        stranger = UserFactory(email="stranger@example.com", display_name="Sam")
        mod = UserFactory(email="mod@example.com", display_name="Mo", moderator=True)
        mod2 = UserFactory(email="mod2@example.com", display_name="Maud", moderator=True)
        good = reviews.submit_review(happy, shop, stars=5, title="Great flat white", body="Ask for Jo at 3 Elm St.",
                                     now=clock.now())
        reviews.save_response(good, owner, "Thanks Hal!", now=clock.now())
        held = reviews.submit_review(reviewer, shop, stars=2, title="Cold soup", body="Waited 40 minutes.",
                                     now=clock.now())
        message = thread.reply(held, owner, "So sorry, Casey.", now=clock.now())
        return SimpleNamespace(shop_id=shop.id, owner=owner.email, happy=happy.email, reviewer=reviewer.email,
                               stranger=stranger.email, mod=mod.email, mod2=mod2.email, good_id=good.id,
                               held_id=held.id, message_id=message.id)


def written(app) -> dict[str, int]:
    with app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m))
                for m in (Report, Decision, Appeal, ModerationEvent, Notification, ThreadMessage)}


def report_over_http(client, kind, item_id, reason="personal_info", note=""):
    return client.post(f"/report/{kind}/{item_id}", {"reason": reason, "note": note})


def open_report(app, site, who="stranger", kind="review", item_id=None, reason="personal_info"):
    def file():
        from reviewsite.services.accounts import find_by_email

        reports.file_report(find_by_email(getattr(site, who)), moderated_items.load(kind, item_id or site.good_id),
                            reason, "", now=app.config["CLOCK"].now())
    act(app, file)


# -- the access matrix, extended ------------------------------------------------------------------

MODERATOR_PAGES = ["/moderation", "/moderation/log", "/moderation/cases/review/{good_id}",
                   "/moderation/cases/message/{message_id}", "/moderation/appeals/{appeal_id}"]


def an_appeal(app, site) -> int:
    open_report(app, site)

    def go():
        from reviewsite.services.accounts import find_by_email

        now = app.config["CLOCK"].now()
        decision = decisions.decide(moderated_items.load("review", site.good_id), find_by_email(site.mod),
                                    outcome="removed", rule="personal_info", facts=FACTS, now=now)
        return appeals.file_appeal(decision, find_by_email(site.happy), "Jo is me.", now=now).id

    with app.app_context(), unit_of_work():
        return go()


@pytest.mark.parametrize("viewer", [None, "stranger", "owner", "reviewer", "happy", "mod"])
def test_only_moderators_reach_the_queue_and_the_cases(app, client, site, viewer):
    appeal_id = an_appeal(app, site)
    if viewer:
        client.login(getattr(site, viewer))
    for page in MODERATOR_PAGES:
        url = page.format(good_id=site.good_id, message_id=site.message_id, appeal_id=appeal_id)
        status = client.get(url).status_code
        expected = 200 if viewer == "mod" else (302 if viewer is None else 404)
        assert status == expected, (viewer, url, status)
    if viewer != "mod":
        assert "Moderation</a>" not in client.get("/").get_data(as_text=True)


def test_a_moderator_who_belongs_to_the_business_may_look_but_not_decide(app, client, site):
    open_report(app, site)
    with app.app_context(), unit_of_work():
        from reviewsite.services.accounts import find_by_email

        from reviewsite.models import Business

        MembershipFactory(business=db.session.get(Business, site.shop_id), user=find_by_email(site.mod), role="staff")
    client.login(site.mod)
    page = page_html(client, f"/moderation/cases/review/{site.good_id}")
    assert "You belong to <bdi>Corner Cafe</bdi>, so you cannot decide" in page and 'name="facts"' not in page
    assert "You belong to this business" in page_html(client, "/moderation")
    before = written(app)
    response = client.post(f"/moderation/cases/review/{site.good_id}",
                           {"outcome": "removed", "rule": "personal_info", "facts": FACTS})
    assert response.status_code == 422
    assert "another moderator must decide" in response.get_data(as_text=True)
    assert written(app) == before


def test_the_case_hides_the_rating(app, client, site):
    """Invariant 9 where the moderator works: no stars in the queue or the case."""
    open_report(app, site)
    client.login(site.mod)
    for url in ("/moderation", f"/moderation/cases/review/{site.good_id}"):
        page = page_html(client, url)
        assert "★" not in page and "out of 5" not in page


# -- reporting ----------------------------------------------------------------------------------------


def test_report_a_published_review_from_the_business_page(app, client, site):
    client.login(site.stranger)
    page = page_html(client, "/b/corner-cafe")
    link = re.search(r'href="(/report/review/\d+)"', page).group(1)
    assert f'href="/report/response/{site.good_id}"' in page and f'href="/report/listing/{site.shop_id}"' in page
    form = page_html(client, link)
    assert "Personal information" in form and "Pressure or intimidation" not in form  # thread reasons only there
    response = report_over_http(client, "review", site.good_id, note="Names Jo and her street.")
    assert response.status_code == 302
    followed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "the item stays as it is until one of them decides" in followed
    mine = page_html(client, "/me/reports")
    assert "A review of Corner Cafe" in mine and "Waiting for a moderator" in mine
    # Nothing about the review changed: still on the page, same rating.
    assert "Great flat white" in page_html(client, "/b/corner-cafe")
    again = report_over_http(client, "review", site.good_id)
    assert again.status_code == 422 and "already reported" in again.get_data(as_text=True)


@pytest.mark.parametrize("who,kind,target,data,status,message", [
    ("stranger", "review", "good", {"note": "no reason"}, 422, "Choose a reason from the list."),
    ("stranger", "review", "good", {"reason": "made-up"}, 422, "Choose a reason from the list."),
    ("stranger", "review", "good", {"reason": "pressure"}, 422, "Choose a reason from the list."),
    ("stranger", "review", "good", {"reason": "spam", "note": "x" * 1001}, 422, "1000"),
    ("happy", "review", "good", {"reason": "spam"}, 422, "You cannot report your own review."),
    ("owner", "listing", "shop", {"reason": "spam"}, 422, "own listing"),
    ("owner", "message", "message", {"reason": "pressure"}, 422, "own side"),
    ("stranger", "review", "held", {"reason": "spam"}, 404, None),
    ("stranger", "message", "message", {"reason": "pressure"}, 404, None),
    ("stranger", "banana", "good", {"reason": "spam"}, 404, None),
    ("stranger", "review", "missing", {"reason": "spam"}, 404, None),
])
def test_bad_reports_get_a_clear_message_or_a_4xx(app, client, site, who, kind, target, data, status, message):
    client.login(getattr(site, who))
    ids = {"good": site.good_id, "shop": site.shop_id, "message": site.message_id, "held": site.held_id,
           "missing": 987654}
    before = written(app)
    response = client.post(f"/report/{kind}/{ids[target]}", data)
    assert response.status_code == status
    if message:
        assert message in response.get_data(as_text=True)
    assert written(app) == before


def test_a_withdrawn_review_cannot_be_reported_and_says_why(app, client, site):
    client.login(site.happy)
    assert client.post(f"/reviews/{site.good_id}/withdraw", {"confirm": "yes"}).status_code == 302
    client.logout()
    client.login(site.stranger)
    before = written(app)
    response = report_over_http(client, "review", site.good_id)
    assert response.status_code == 422 and "withdrawn by its author" in response.get_data(as_text=True)
    page = client.get(f"/report/review/{site.good_id}")
    assert page.status_code == 410 and "withdrawn by its author" in page.get_data(as_text=True)
    assert written(app) == before


def test_reporting_needs_a_login_and_a_csrf_token(app, client, site):
    assert client.get(f"/report/review/{site.good_id}").status_code == 302
    client.login(site.stranger)
    before = written(app)
    assert client.post(f"/report/review/{site.good_id}", {"reason": "spam"}, csrf=False).status_code == 400
    assert written(app) == before


# -- the thread: condition language, flags, reporting a message ----------------------------------------


def test_a_conditioned_offer_is_stopped_then_flagged_if_sent_anyway(app, client, site):
    client.login(site.owner)
    before = written(app)
    response = client.post(f"/reviews/{site.held_id}/offers", {"remedy": "refund", "note": CONDITION})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "offers may never depend on the review" in page and "Send anyway" in page and "Withdraw it" in page
    assert CONDITION in page, "the text is kept, to edit"
    assert written(app) == before
    # An edited offer goes through.
    assert client.post(f"/reviews/{site.held_id}/offers",
                       {"remedy": "refund", "note": "A full refund, whatever you decide."}).status_code == 302
    # Sent anyway: it goes, and is flagged to moderators.
    assert client.post(f"/reviews/{site.held_id}/offers",
                       {"remedy": "credit", "note": CONDITION, "send_anyway": "y"}).status_code == 302
    client.logout()

    client.login(site.reviewer)
    page = page_html(client, f"/reviews/{site.held_id}")
    assert page.count("Flagged:") == 1 and "Offers may never depend on your review" in page
    flagged = re.search(r'href="(/report/message/(\d+)\?reason=conditioned_offer)"', page)
    assert flagged, "the flagged offer's report link comes with the reason chosen"
    form = page_html(client, flagged.group(1))
    assert re.search(r'value="conditioned_offer"[^>]*checked|checked[^>]*value="conditioned_offer"', form)
    assert report_over_http(client, "message", flagged.group(2), reason="conditioned_offer").status_code == 302
    client.logout()

    client.login(site.mod)
    queue = page_html(client, "/moderation")
    assert "Flagged automatically" in queue and "An offer from Corner Cafe in a private thread" in queue
    case = page_html(client, f"/moderation/cases/message/{flagged.group(2)}")
    assert CONDITION in case and "Sent anyway after the warning" in case and "by <bdi>Casey</bdi>" in case


def test_messages_from_the_reviewer_are_never_stopped(app, client, site):
    client.login(site.reviewer)
    assert client.post(f"/reviews/{site.held_id}/messages",
                       {"body": "If you refund me I will update my review."}).status_code == 302


# -- deciding and appealing over HTTP -----------------------------------------------------------------


def test_decide_then_appeal_then_a_second_moderator_decides(app, client, make_client, site):
    open_report(app, site)
    client.login(site.mod)
    case = page_html(client, f"/moderation/cases/review/{site.good_id}")
    assert 'value="notice"' not in case, "a notice is only for a business's message"
    bad = client.post(f"/moderation/cases/review/{site.good_id}", {"outcome": "removed", "rule": "personal_info",
                                                                    "facts": ""})
    assert bad.status_code == 422 and "Write the facts you relied on." in bad.get_data(as_text=True)
    done = client.post(f"/moderation/cases/review/{site.good_id}",
                       {"outcome": "removed", "rule": "personal_info", "facts": FACTS})
    assert done.status_code == 302
    again = client.post(f"/moderation/cases/review/{site.good_id}",
                        {"outcome": "dismissed", "rule": "personal_info", "facts": FACTS})
    assert again.status_code == 422 and "already been decided" in again.get_data(as_text=True)

    visitor = make_client()
    business = page_html(visitor, "/b/corner-cafe")
    assert "Great flat white" not in business
    assert re.search(r"A review, removed by moderators on 02 Mar 2026: <a [^>]*>Personal information</a>", business)

    author = make_client()
    author.login(site.happy)
    notices = page_html(author, "/notifications")
    assert "A moderator decided about a review of Corner Cafe: removed" in notices
    opened = author.post(re.search(r'action="(/notifications/\d+/open)"', notices).group(1))
    decision_url = opened.headers["Location"]
    assert re.search(r"/decisions/\d+$", decision_url)
    statement = page_html(author, decision_url)
    assert FACTS in statement and "Appeal this decision" in statement and "#rule-personal-info" in statement
    appeal_url = decision_url + "/appeal"
    empty = author.post(appeal_url, {"statement": "  "})
    assert empty.status_code == 422 and "Say why you think the decision is wrong." in empty.get_data(as_text=True)
    assert author.post(appeal_url, {"statement": "Jo is me; it is my own street."}).status_code == 302
    twice = author.post(appeal_url, {"statement": "Again"})
    assert twice.status_code == 422 and "already been appealed" in twice.get_data(as_text=True)

    # The reporter may read the statement (they were told of it); nobody else may.
    reporter = make_client()
    reporter.login(site.stranger)
    assert "Appeal this decision" not in page_html(reporter, decision_url)
    outsider = make_client()
    outsider.login(site.reviewer)
    assert outsider.get(decision_url).status_code == 404 and outsider.get(appeal_url).status_code == 404

    # The moderator who decided cannot decide the appeal; another can.
    queue = page_html(client, "/moderation")
    appeal_page = re.search(r'href="(/moderation/appeals/\d+)"', queue).group(1)
    assert "you made the decision under appeal" in page_html(client, appeal_page).lower()
    refused = client.post(appeal_page, {"verdict": "overturn", "facts": "x"})
    assert refused.status_code == 422
    second = make_client()
    second.login(site.mod2)
    assert second.post(appeal_page, {"verdict": "overturn", "facts": "The name is the author's own."}).status_code == 302
    assert "Great flat white" in page_html(make_client(), "/b/corner-cafe")
    final = page_html(author, decision_url)
    assert "the decision is overturned" in final and "This decision on the appeal is final." in final


def test_a_removed_listing_answers_410_with_its_line(app, client, make_client, site):
    open_report(app, site, kind="listing", item_id=site.shop_id, reason="not_genuine")
    client.login(site.mod)
    assert client.post(f"/moderation/cases/listing/{site.shop_id}",
                       {"outcome": "removed", "rule": "not_genuine", "facts": "No such shop."}).status_code == 302
    for viewer in (None, site.stranger):
        other = make_client()
        if viewer:
            other.login(viewer)
        for _ in range(2):  # and again, as the page cache would serve it
            response = other.get("/b/corner-cafe")
            assert response.status_code == 410
            assert "This listing was removed by moderators on 02 Mar 2026" in response.get_data(as_text=True)
        if viewer:  # and its review form says why it takes none
            form = other.get("/b/corner-cafe/review")
            assert form.status_code == 410
            assert "Moderators removed this listing, so it takes no new reviews." in form.get_data(as_text=True)


def test_a_removed_listing_is_left_out_of_search_and_the_home_page(app, client, make_client, site):
    """Nobody finds a listing moderators removed, and a page cached before the decision is not
    served after it (the results' stamps change)."""
    visitor = make_client()
    assert "Corner Cafe" in page_html(visitor, "/businesses?q=corner")
    assert "Corner Cafe" in page_html(visitor, "/")
    open_report(app, site, kind="listing", item_id=site.shop_id, reason="not_genuine")
    client.login(site.mod)
    assert client.post(f"/moderation/cases/listing/{site.shop_id}",
                       {"outcome": "removed", "rule": "not_genuine", "facts": "No such shop."}).status_code == 302
    for _ in range(2):  # and again, as the page cache would serve it
        assert "Corner Cafe" not in page_html(visitor, "/businesses?q=corner")
        assert "Corner Cafe" not in page_html(visitor, "/")


# -- public pages -----------------------------------------------------------------------------------


def test_rules_and_transparency_are_public(app, client, site):
    rules = page_html(client, "/rules")
    assert 'id="rule-personal-info"' in rules and "never by the rating" in rules
    open_report(app, site)
    report_page = page_html(client, "/transparency?month=2026-03")
    assert "Transparency report: March 2026" in report_page and "1. Personal information" in report_page
    assert page_html(client, "/transparency")  # this month
    bad = client.get("/transparency?month=2026-13")
    assert bad.status_code == 400 and "YYYY-MM" in bad.get_data(as_text=True)


def test_the_moderators_log_names_who_did_what(app, client, site):
    open_report(app, site)
    client.login(site.mod)
    client.post(f"/moderation/cases/review/{site.good_id}",
                {"outcome": "dismissed", "rule": "personal_info", "facts": "Jo is a public figure."})
    log = page_html(client, "/moderation/log")
    assert "decided dismissed" in log and "Mo" in log and "1. Personal information" in log
    assert "report filed" in log and "Sam" in log


def test_a_notice_shows_on_the_business_page_cached_or_not_and_leaves_when_it_ends(app, client, make_client,
                                                                                    site, clock):
    signed_in = make_client()
    signed_in.login(site.stranger)
    for viewer in (client, signed_in):  # the anonymous page is now cached whole, the other in part
        assert "Notice from our moderators" not in page_html(viewer, "/b/corner-cafe")
    open_report(app, site, who="reviewer", kind="message", item_id=site.message_id, reason="pressure")

    def notice():
        from reviewsite.services.accounts import find_by_email

        decisions.decide(moderated_items.load("message", site.message_id), find_by_email(site.mod),
                         outcome="notice", rule="pressure", facts="Three messages asking to change the review.",
                         now=clock.now())
    act(app, notice)
    for viewer in (client, signed_in):
        page = page_html(viewer, "/b/corner-cafe")
        assert re.search(r"This business was found to have pressed a reviewer \(pressure or intimidation, "
                         r"<a [^>]*>rule 10</a>\), on 02 Mar 2026\. This notice stays until 31 May 2026\.", page)
    clock.advance(seconds=app.config["NOTICE_SECONDS"])
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert "notices_ended=1" in result.output
    for viewer in (client, signed_in):
        assert "Notice from our moderators" not in page_html(viewer, "/b/corner-cafe")


def test_a_pressed_reviewer_reports_a_message_in_two_clicks(app, client, site):
    """Click 1: "Report this message" in the thread, the likely reason already chosen; click 2:
    send. The business, reporting the reviewer's message, chooses the reason itself."""
    client.login(site.reviewer)
    page = page_html(client, f"/reviews/{site.held_id}")
    link = re.search(rf'href="(/report/message/{site.message_id}\?reason=pressure)">Report this message', page)
    form = page_html(client, link.group(1))
    assert re.search(r'checked[^>]*value="pressure"|value="pressure"[^>]*checked', form)
    assert report_over_http(client, "message", site.message_id, reason="pressure").status_code == 302
    assert "(you reported it)" in page_html(client, f"/reviews/{site.held_id}")
    client.logout()
    client.login(site.owner)
    with app.app_context(), unit_of_work():
        from reviewsite.models import Review

        answer = thread.reply(db.session.get(Review, site.held_id), db.session.get(Review, site.held_id).author,
                              "Refund me or else.", now=app.config["CLOCK"].now())
        answer_id = answer.id
    page = page_html(client, f"/reviews/{site.held_id}")
    assert f'href="/report/message/{answer_id}">Report this message' in page
    assert f'/report/message/{site.message_id}' not in page, "not one's own side's message"
