"""Reports, decisions, appeals and notices through the services: the rules of issue 13.

- A report changes nothing about the item; one person reports one item once.
- Moderation never depends on the rating (invariant 9): the same fault gets the same decision and
  the same public line at every star rating.
- Only a moderator decides, never about a business they belong to; an appeal goes to another.
- Removal keeps the stars out of the average and leaves a public line; an overturned removal puts
  the item back; a notice shows for a set time and then ends (and the page is refreshed).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import (
    AppealStatus,
    Business,
    Decision,
    DecisionStatus,
    ModerationEvent,
    NoticeStatus,
    Notification,
    Outcome,
    PressureNotice,
    Report,
    ReportStatus,
    ReviewStatus,
)
from reviewsite.services import appeals, decisions, moderated_items, pressure_notices, public_moderation, reviews
from reviewsite.services.errors import Conflict, DomainError, Invalid, InvalidTransition, NotAllowed
from tests.factories import MembershipFactory, UserFactory
from tests.moderation_world import held_thread, item, people, published, report  # noqa: F401 - fixtures

FACTS = "The review gives a member of staff's full name and home street."


def written() -> dict[str, int]:
    def count(model):
        return db.session.scalar(select(func.count()).select_from(model))

    return {m.__name__: count(m) for m in (Report, Decision, ModerationEvent, Notification, PressureNotice)}


def aggregate(business: Business) -> tuple[int, int, int]:
    db.session.flush()
    db.session.refresh(business)
    return business.rating_count, business.rating_sum, business.listing_version


def notifications(kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id)))


# -- reports ----------------------------------------------------------------------------------------


def test_reports_change_nothing_about_the_item(people, clock):
    review = published(people.shop, people.reviewer, clock, stars=1)
    before = aggregate(people.shop)
    for reporter in (people.owner, people.bystander, people.other, UserFactory(), UserFactory()):
        report(reporter, item("review", review.id), clock, reason="not_genuine")
    db.session.expire(review)
    assert review.status is ReviewStatus.PUBLISHED
    assert aggregate(people.shop) == before, "no count of reports hides a review or moves the average"


def test_one_person_reports_one_item_once(people, clock):
    review = published(people.shop, people.reviewer, clock)
    found = item("review", review.id)
    report(people.bystander, found, clock)
    before = written()
    with pytest.raises(Conflict, match="already reported"):
        report(people.bystander, found, clock, reason="spam")
    assert written() == before
    decisions.decide(found, people.mod, outcome="dismissed", rule="personal_info", facts="No names.",
                     now=clock.now())
    with pytest.raises(Conflict, match="a moderator decided"):
        report(people.bystander, found, clock)
    # Once the review has been edited since, it is a new thing to look at.
    clock.advance(hours=1)
    reviews.revise(review, people.reviewer, stars=5, title="Lovely", body="Ask for Jo Bloggs at 3 Elm St.",
                   now=clock.now())
    assert report(people.bystander, item("review", review.id), clock).status is ReportStatus.OPEN


BAD_REPORTS = {
    "own review": ("reviewer", "review", "personal_info", "", Invalid, "your own review"),
    "own business's response": ("staff", "response", "spam", "", Invalid, "your business’s own response"),
    "own listing": ("owner", "listing", "spam", "", Invalid, "your business’s own listing"),
    "thread reason on a review": ("bystander", "review", "conditioned_offer", "", Invalid, "private thread"),
    "unknown reason": ("bystander", "review", "i-dont-like-it", "", Invalid, "Choose a reason"),
    "huge note": ("bystander", "review", "spam", "x" * 1001, Invalid, "at most 1000"),
    "withdrawn review": ("bystander", "withdrawn", "spam", "", InvalidTransition, "withdrawn"),
    "removed review": ("bystander", "removed", "spam", "", InvalidTransition, "already removed"),
    "held review by a stranger": ("bystander", "held", "spam", "", NotAllowed, "cannot report"),
    "thread message by a stranger": ("bystander", "message", "pressure", "", NotAllowed, "cannot report"),
    "own side's message": ("staff", "message", "pressure", "", Invalid, "your own side"),
    "unconfirmed account": ("unconfirmed", "review", "spam", "", NotAllowed, "Confirm your email"),
}


@pytest.mark.parametrize("case", sorted(BAD_REPORTS))
def test_bad_reports_are_refused_and_write_nothing(people, held_thread, clock, case):
    who, what, reason, note, error, message = BAD_REPORTS[case]
    review = published(people.shop, people.other, clock)
    reviews.save_response(review, people.owner, "Thanks!", now=clock.now())
    held, own_message = held_thread
    targets = {
        "review": ("review", review.id), "response": ("response", review.id),
        "listing": ("listing", people.shop.id), "held": ("review", held.id), "message": ("message", own_message.id),
    }
    if what == "withdrawn":
        gone = published(people.shop, UserFactory(), clock)
        reviews.withdraw(gone, gone.author, now=clock.now())
        targets[what] = ("review", gone.id)
    if what == "removed":
        gone = published(people.shop, UserFactory(), clock)
        reviews.remove(gone, people.mod, reason="Spam or advertising", now=clock.now())
        targets[what] = ("review", gone.id)
    reporter = UserFactory(unconfirmed=True) if who == "unconfirmed" else getattr(people, who)
    if who == "reviewer":
        targets["review"] = ("review", held.id)  # the reviewer's own (held) review
    before = written()
    with pytest.raises(error, match=message):
        report(reporter, item(*targets[what]), clock, reason=reason, note=note)
    assert written() == before


def test_the_business_may_report_a_held_review_but_it_stays_held(people, held_thread, clock):
    review, _ = held_thread
    filed = report(people.owner, item("review", review.id), clock, reason="personal_info")
    db.session.expire(review)
    assert filed.status is ReportStatus.OPEN and review.status is ReviewStatus.HELD


def test_a_thread_stays_reportable_after_the_review_is_withdrawn(people, held_thread, clock):
    review, message = held_thread
    reviews.withdraw(review, people.reviewer, now=clock.now())
    assert report(people.reviewer, item("message", message.id), clock, reason="pressure").status is ReportStatus.OPEN


# -- decisions: rating-neutral ------------------------------------------------------------------------


def test_the_same_fault_gets_the_same_decision_and_line_at_every_rating(people, clock):
    """Invariant 9: five reviews alike but for their stars, the same report on each, the same
    decision by the same moderator: the same outcome, public line and statement for all five,
    and each one's stars leave the average."""
    results = []
    for stars in (1, 2, 3, 4, 5):
        author = UserFactory()
        review = published(people.shop, author, clock, stars=stars, title="Slow",
                           body="Ask for Jo Bloggs, she lives at 3 Elm St.")
        report(people.bystander, item("review", review.id), clock, reason="personal_info",
               note="Names a member of staff and her address.")
        count_before, sum_before, _ = aggregate(people.shop)
        decision = decisions.decide(item("review", review.id), people.mod, outcome="removed", rule="personal_info",
                                    facts=FACTS, now=clock.now())
        count_after, sum_after, _ = aggregate(people.shop)
        assert (count_after, sum_after) == (count_before - 1, sum_before - stars)
        db.session.expire(review)
        statement = {key: value for key, value in notifications("moderation_decision")[-2].facts.items()
                     if key != "decision_id"}
        results.append((decision.outcome, decision.rule, review.status, review.removal_reason, statement))
    assert all(result == results[0] for result in results), results
    lines = public_moderation.for_business(people.shop, now=clock.now()).removals
    assert len(lines) == 5 and len({(line.what, line.removed_at, line.rule) for line in lines}) == 1
    assert lines[0].what == "A review" and lines[0].rule.title == "Personal information"


def test_a_moderator_who_belongs_to_the_business_cannot_decide(people, clock):
    review = published(people.shop, people.reviewer, clock)
    found = item("review", review.id)
    report(people.bystander, found, clock)
    MembershipFactory(business=people.shop, user=people.mod, role="staff")
    before = written()
    with pytest.raises(NotAllowed, match="belong to this business"):
        decisions.decide(found, people.mod, outcome="removed", rule="personal_info", facts=FACTS, now=clock.now())
    assert written() == before
    decisions.decide(found, people.mod2, outcome="removed", rule="personal_info", facts=FACTS, now=clock.now())


@pytest.mark.parametrize("who", ["non-moderator", "reporter", "author"])
def test_only_an_uninvolved_moderator_decides(people, clock, who):
    author = UserFactory(moderator=who == "author")
    review = published(people.shop, author, clock)
    found = item("review", review.id)
    reporter = UserFactory(moderator=True) if who == "reporter" else people.bystander
    report(reporter, found, clock)
    deciding = {"non-moderator": people.other, "reporter": reporter, "author": author}[who]
    before = written()
    with pytest.raises(NotAllowed):
        decisions.decide(found, deciding, outcome="removed", rule="personal_info", facts=FACTS, now=clock.now())
    assert written() == before


@pytest.mark.parametrize("outcome,rule,facts,message", [
    ("removed", "personal_info", "   ", "cannot be empty"),
    ("removed", "personal_info", "x" * 2001, "at most 2000"),
    ("banished", "personal_info", FACTS, "Choose a decision"),
    ("removed", "bad_vibes", FACTS, "Choose a decision and a rule"),
    ("notice", "threats", FACTS, "only for a business that pressed a reviewer"),
    ("removed", "pressure", FACTS, "private thread"),
])
def test_bad_decisions_are_refused_and_write_nothing(people, clock, outcome, rule, facts, message):
    review = published(people.shop, people.reviewer, clock)
    found = item("review", review.id)
    report(people.bystander, found, clock)
    before = written()
    with pytest.raises(DomainError, match=message):
        decisions.decide(found, people.mod, outcome=outcome, rule=rule, facts=facts, now=clock.now())
    assert written() == before


def test_a_notice_on_a_business_that_pressed_a_reviewer_shows_then_ends(app, people, held_thread, clock):
    _, message = held_thread
    found = item("message", message.id)
    report(people.reviewer, found, clock, reason="conditioned_offer")
    _, _, version = aggregate(people.shop)
    decisions.decide(found, people.mod, outcome="notice", rule="conditioned_offer", facts="Offered a refund for "
                     "an updated review.", now=clock.now())
    assert aggregate(people.shop)[2] > version, "the page shows the notice: its version moves"
    notice = public_moderation.for_business(people.shop, now=clock.now()).notices
    assert [(n.issued_at, n.rule.title) for n in notice] == [(clock.now(), "An offer conditioned on the review")]
    assert notice[0].ends_at == clock.now() + timedelta(seconds=app.config["NOTICE_SECONDS"])
    # The business hears it (statement of reasons to every member), the reporter too.
    to = sorted(n.recipient_id for n in notifications("moderation_decision"))
    assert to == sorted([people.owner.id, people.staff.id, people.reviewer.id])

    clock.set(notice[0].ends_at - timedelta(seconds=1))
    assert pressure_notices.expire_due(now=clock.now()) == []
    clock.advance(seconds=1)
    _, _, version = aggregate(people.shop)
    assert len(pressure_notices.expire_due(now=clock.now())) == 1
    assert aggregate(people.shop)[2] > version, "the notice left the page: its version moves"
    assert public_moderation.for_business(people.shop, now=clock.now()).notices == []
    assert db.session.scalar(select(PressureNotice.status)) is NoticeStatus.EXPIRED
    assert pressure_notices.expire_due(now=clock.now()) == [], "ending twice is impossible"


def test_removing_a_response_clears_it_and_an_appeal_puts_it_back(people, clock):
    review = published(people.shop, people.reviewer, clock)
    reviews.save_response(review, people.owner, "Casey is lying, call her on 0777 123456.", now=clock.now())
    found = item("response", review.id)
    report(people.reviewer, found, clock, reason="personal_info")
    decision = decisions.decide(found, people.mod, outcome="removed", rule="personal_info",
                                facts="It gives the reviewer's phone number.", now=clock.now())
    db.session.expire(review)
    assert review.response_body is None and review.status is ReviewStatus.PUBLISHED
    assert [line.what for line in public_moderation.for_business(people.shop, now=clock.now()).removals] == [
        "A response from the business"]
    appeal = appeals.file_appeal(decision, people.staff, "It is our shop's number.", now=clock.now())
    appeals.decide_appeal(appeal, people.mod2, overturn=True, facts="The number is the shop's landline.",
                          now=clock.now())
    db.session.expire(review)
    assert review.response_body == "Casey is lying, call her on 0777 123456."
    assert public_moderation.for_business(people.shop, now=clock.now()).removals == []


@pytest.mark.parametrize("was", ["published", "held, window still open", "held, window ended meanwhile"])
def test_an_overturned_removal_restores_the_review_and_its_stars(people, clock, was):
    if was == "published":
        review = published(people.shop, people.reviewer, clock, stars=4)
    else:
        review = reviews.submit_review(people.reviewer, people.shop, stars=2, title="Cold", body="Cold soup",
                                       now=clock.now())
    found = item("review", review.id)
    report(people.owner, found, clock, reason="not_genuine")
    before = aggregate(people.shop)
    decision = decisions.decide(found, people.mod, outcome="removed", rule="not_genuine",
                                facts="Looks written by a competitor.", now=clock.now())
    assert aggregate(people.shop)[:2] == (before[0] - 1, before[1] - review.stars)
    appeal = appeals.file_appeal(decision, people.reviewer, "I ate there on Friday; here is my receipt.",
                                 now=clock.now())
    if was == "held, window ended meanwhile":
        clock.advance(days=4)
    appeals.decide_appeal(appeal, people.mod2, overturn=True, facts="The receipt matches.", now=clock.now())
    db.session.expire(review)
    assert aggregate(people.shop)[:2] == before[:2]
    expected = ReviewStatus.HELD if was == "held, window still open" else ReviewStatus.PUBLISHED
    assert review.status is expected and review.removed_at is None
    if was == "held, window ended meanwhile":
        assert review.published_at == clock.now()
    assert decision.status is DecisionStatus.REVERSED
    assert public_moderation.for_business(people.shop, now=clock.now()).removals == []
    assert [n.recipient_id for n in notifications("appeal_decision")] == [people.reviewer.id, people.owner.id]


def test_a_removed_listing_is_gone_until_an_appeal_restores_it(people, clock):
    found = item("listing", people.shop.id)
    report(people.bystander, found, clock, reason="not_genuine", note="No such shop at this address.")
    _, _, version = aggregate(people.shop)
    decision = decisions.decide(found, people.mod, outcome="removed", rule="not_genuine",
                                facts="The address is a car park.", now=clock.now())
    assert aggregate(people.shop)[2] > version
    assert public_moderation.listing_removal(people.shop.id).rule.title.startswith("Not a genuine")
    appeal = appeals.file_appeal(decision, people.owner, "We opened last week.", now=clock.now())
    appeals.decide_appeal(appeal, people.mod2, overturn=True, facts="Photos of the open shop.", now=clock.now())
    assert public_moderation.listing_removal(people.shop.id) is None


# -- appeals -------------------------------------------------------------------------------------------


def removal_of_message(people, held_thread, clock):
    _, message = held_thread
    found = item("message", message.id)
    report(people.reviewer, found, clock, reason="pressure")
    return found, decisions.decide(found, people.mod, outcome="removed", rule="pressure",
                                   facts="Repeated demands to change the review.", now=clock.now())


@pytest.mark.parametrize("who,error,message", [
    ("the moderator who decided", NotAllowed, "made the decision under appeal"),
    ("a moderator who belongs to the business", NotAllowed, "belong to this business"),
    ("not a moderator", NotAllowed, "Only a moderator"),
    ("the reporter, a moderator", NotAllowed, "reported this yourself"),
])
def test_an_appeal_goes_to_a_different_uninvolved_moderator(people, held_thread, clock, who, error, message):
    found, decision = removal_of_message(people, held_thread, clock)
    appeal = appeals.file_appeal(decision, people.owner, "We only asked politely.", now=clock.now())
    if who == "the moderator who decided":
        deciding = people.mod
    elif who == "a moderator who belongs to the business":
        deciding = UserFactory(moderator=True)
        MembershipFactory(business=people.shop, user=deciding, role="staff")
    elif who == "not a moderator":
        deciding = people.bystander
    else:
        people.reviewer.is_moderator = True
        deciding = people.reviewer
    before = written()
    with pytest.raises(error, match=message):
        appeals.decide_appeal(appeal, deciding, overturn=True, facts="Looked again.", now=clock.now())
    assert written() == before and appeal.status is AppealStatus.OPEN


@pytest.mark.parametrize("case", ["twice", "late", "not affected", "the reporter of a removal"])
def test_appealing_twice_late_or_without_standing_is_refused(people, held_thread, clock, case):
    found, decision = removal_of_message(people, held_thread, clock)
    if case == "twice":
        appeals.file_appeal(decision, people.owner, "Please look again.", now=clock.now())
        who, error, message = people.staff, Conflict, "already been appealed"
    elif case == "late":
        clock.set(decision.appeal_until + timedelta(seconds=1))
        who, error, message = people.owner, InvalidTransition, "time to appeal ended"
    elif case == "not affected":
        who, error, message = people.bystander, NotAllowed, "Only the person this decision affects"
    else:
        who, error, message = people.reviewer, NotAllowed, "Only the person this decision affects"
    before = written()
    with pytest.raises(error, match=message):
        appeals.file_appeal(decision, who, "Please look again.", now=clock.now())
    assert written() == before


def test_an_overturned_dismissal_acts_now_and_is_final(people, held_thread, clock):
    """The reporter appeals a dismissal; the second moderator removes the message and puts a
    notice on the business; nobody can appeal that again."""
    _, message = held_thread
    found = item("message", message.id)
    report(people.reviewer, found, clock, reason="conditioned_offer")
    dismissal = decisions.decide(found, people.mod, outcome="dismissed", rule="conditioned_offer",
                                 facts="Reads as an ordinary apology.", now=clock.now())
    assert [n.facts["may_appeal"] for n in notifications("moderation_decision")] == [True]
    with pytest.raises(Invalid, match="removing the item or issuing a notice"):
        appeals.decide_appeal(appeals.file_appeal(dismissal, people.reviewer, "It asks me to change my review.",
                                                  now=clock.now()),
                              people.mod2, overturn=True, facts="x", now=clock.now(), outcome="dismissed",
                              rule="conditioned_offer")
    appeal = db.session.scalar(select(appeals.Appeal).where(appeals.Appeal.decision_id == dismissal.id))
    final = appeals.decide_appeal(appeal, people.mod2, overturn=True, facts="It ties the refund to the review.",
                                  now=clock.now(), outcome="notice", rule="conditioned_offer")
    assert final.outcome is Outcome.NOTICE and final.appeal_of_id == dismissal.id and final.appeal_until is None
    assert public_moderation.for_business(people.shop, now=clock.now()).notices
    assert appeals.refusal(final, people.owner, now=clock.now()) is not None
    with pytest.raises(InvalidTransition, match="final"):
        appeals.file_appeal(final, people.owner, "Unfair!", now=clock.now())
    # The business got the (final) statement, the reviewer the decision on their appeal.
    last = {n.recipient_id: n.kind for n in db.session.scalars(select(Notification).order_by(Notification.id))}
    assert last[people.owner.id] == "moderation_decision" and last[people.reviewer.id] == "appeal_decision"


def test_every_step_is_in_the_action_log(people, held_thread, clock):
    found, decision = removal_of_message(people, held_thread, clock)
    appeal = appeals.file_appeal(decision, people.owner, "Please look again.", now=clock.now())
    appeals.decide_appeal(appeal, people.mod2, overturn=False, facts="It is pressure.", now=clock.now())
    log = [(e.action, e.actor_id, e.rule) for e in db.session.scalars(select(ModerationEvent).order_by(
        ModerationEvent.id))]
    assert log == [("report_filed", people.reviewer.id, "pressure"), ("decided_removed", people.mod.id, "pressure"),
                   ("appeal_filed", people.owner.id, "pressure"), ("appeal_upheld", people.mod2.id, "pressure")]


def test_moderated_items_never_read_the_stars():
    """The rule modules have no business with the rating: invariant 9, by construction."""
    import inspect
    import re

    from reviewsite.services import moderation_queue, reports, rules

    for module in (moderated_items, decisions, appeals, reports, rules, moderation_queue, public_moderation):
        assert not re.search(r"\.stars\b", inspect.getsource(module)), module.__name__
