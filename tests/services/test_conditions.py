"""Condition language (services/conditions.py): phrasings that tie an offer to the review must be
caught; ordinary apologies, thanks and offers must not be. Table-driven: a new pattern comes with
new rows here. Then the thread: a business's condition is refused before sending, and what it
sends anyway is flagged to the moderators."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from reviewsite.extensions import db
from reviewsite.models import Notification, RemedyKind, Report, ReportStatus, Rule, ThreadMessage
from reviewsite.services import conditions, reports, thread
from reviewsite.services.conditions import ConditionLanguage
from reviewsite.unit_of_work import unit_of_work
from tests.moderation_world import held_thread, people  # noqa: F401 - fixtures

MUST_MATCH = [
    "If you update your review, we'll refund you.",
    "Once you take this down we will send the refund.",
    "We'll refund you if you change your rating.",
    "Refund after you remove the review.",
    "We can give you a free meal in exchange for deleting your review.",
    "Provided you edit your review to 5 stars, the credit is yours.",
    "Change your review and I'll refund you.",
    "As long as you raise your rating we can redo the job for free.",
    "Remove your review and we will give you a credit.",
    "We can offer a free dinner if you update to 5 stars.",
    "Upgrade your review to 4 stars and we'll send a voucher.",
    "When the review is gone, we'll process the refund.",
    "We will refund you once the review is deleted.",
    "Only if you take down your 1-star review.",
    "On condition that you amend your review, we refund half.",
    "A free meal for a 5-star review?",
    "We'd be happy to refund you for removing the review.",
    "Happy to redo it, then you can update your review.",
    "Take your review down and the refund is yours.",
    "If you could bump it up to five stars we'd send a gift card.",
    "We will refund you after you delete the post.",
    "Please withdraw your negative review and we'll make it right.",
    "In return for a better review we will waive the fee.",
    "If you revise your 2 star review we will give you a voucher.",
    "IF YOU UPDATE YOUR REVIEW WE WILL REFUND YOU",
    "We're sorry.\nOnce you have taken the review down, the voucher is yours.",
]

MUST_NOT_MATCH = [
    "sorry, please update me when you can",
    "We're sorry about your visit. We'll refund you.",
    "Thank you for your review.",
    "Thank you for updating your review.",
    "We have updated our menu since your review.",
    "Please let us know if you'd like a refund.",
    "We read your review and changed our supplier.",
    "If you have time, update us on how the repair holds up.",
    "Your review helped us improve.",
    "We will remove the charge from your card.",
    "Once you're back, we'll take care of you.",
    "Feel free to change your booking if you need to.",
    "We take every review seriously.",
    "If you want, we can redo the work next week.",
    "We'll change things after your review.",
    "Sorry! We will improve our service after reading your review.",
    "When you come in next time, the dessert is on us.",
    "We're so sorry, we'll fix the heater and refund you if you send us the receipt.",
    "Thanks for the feedback, we'll update our opening hours.",
    "Whatever you decide about your review is up to you; the refund is yours either way.",
    "We will refund you in full. Your review is yours to keep as it is.",
    "If you'd like, call us and we'll sort it out.",
    "We removed the dish from the menu after your comments.",
    "",
]


@pytest.mark.parametrize("text", MUST_MATCH)
def test_condition_is_caught(text):
    assert conditions.find(text), text


@pytest.mark.parametrize("text", MUST_NOT_MATCH)
def test_ordinary_words_are_left_alone(text):
    assert conditions.find(text) == [], text


def test_the_sentence_that_ties_is_quoted():
    found = conditions.find("So sorry about the wait. If you update your review, we'll refund you. See you soon!")
    assert [f.sentence for f in found] == ["If you update your review, we'll refund you."]
    assert "If you update your review" in str(ConditionLanguage(found, offer=True))


def counts() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (ThreadMessage, Report, Notification))


CONDITION = "We can refund you if you change your rating."


@pytest.mark.parametrize("how", ["message", "offer"])
def test_a_business_condition_is_stopped_before_sending(people, held_thread, clock, how):
    review, _ = held_thread
    db.session.commit()  # the world so far (a savepoint in tests); the edge rolls back the refusal
    before = counts()
    with pytest.raises(ConditionLanguage) as refused, unit_of_work():
        if how == "message":
            thread.reply(review, people.owner, CONDITION, now=clock.now())
        else:
            thread.offer_remedy(review, people.owner, RemedyKind.REFUND, CONDITION, now=clock.now())
    assert "offers may never depend on the review" in str(refused.value)
    assert "Edit your" in str(refused.value) and "withdraw it" in str(refused.value)
    assert counts() == before


@pytest.mark.parametrize("how", ["message", "offer"])
def test_sent_anyway_it_is_flagged_to_moderators_and_marked_for_the_reviewer(people, held_thread, clock, how):
    review, _ = held_thread
    if how == "message":
        sent = thread.reply(review, people.owner, CONDITION, now=clock.now(), send_anyway=True)
    else:
        sent = thread.offer_remedy(review, people.owner, RemedyKind.REFUND, CONDITION, now=clock.now(),
                                   send_anyway=True)
    flag = db.session.scalar(select(Report).where(Report.message_id == sent.id))
    assert flag.reporter_id is None and flag.status is ReportStatus.OPEN and flag.reason is Rule.CONDITIONED_OFFER
    assert CONDITION in flag.note
    marks = reports.thread_marks(review, people.reviewer)
    assert marks[sent.id].flagged and not marks[sent.id].removed


def test_the_reviewer_is_never_stopped(people, held_thread, clock):
    """The check is on the business's offers; a reviewer asking for anything is for reports."""
    review, _ = held_thread
    thread.reply(review, people.reviewer, "If you refund me I will update my review.", now=clock.now())
    assert db.session.scalar(select(func.count(Report.id))) == 0
