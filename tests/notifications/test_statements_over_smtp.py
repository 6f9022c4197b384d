"""Statements of reasons through a real SMTP server: the decision reaches the author and the
reporter, each with what they need (the author the appeal link, the reporter the outcome; the
reporter the appeal link when their report is dismissed), whatever they chose in their settings;
the decision on an appeal reaches everyone concerned."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from reviewsite.models import Delivery, ItemKind
from reviewsite.notifications import delivery
from reviewsite.services.notification_kinds import TOPICS
from reviewsite.services import appeals, decisions, preferences
from reviewsite.unit_of_work import unit_of_work
from tests.moderation_world import item, people, published, report  # noqa: F401 - fixtures

SUBJECT = "A moderator’s decision about a review of Corner Cafe"
FACTS = "The review gives a member of staff's full name and home street."


def mails_to(smtp, address, subject):
    found = smtp.mails_with(subject, to=address)
    assert len(found) == 1, smtp.describe()
    return found[0]


def route(app, url: str) -> tuple[str, dict]:
    parts = urlsplit(url)
    assert parts.netloc == "reviewsite.test"
    return app.url_map.bind("reviewsite.test").match(parts.path)


@pytest.fixture
def turned_everything_down(people, clock):
    """The author and the reporter chose to hear nothing by email: statements still go."""
    with unit_of_work():
        for person in (people.other, people.bystander):
            for topic in TOPICS:
                preferences.choose(person.id, topic, Delivery.SITE_ONLY, now=clock.now())


def test_a_removal_reaches_author_and_reporter_with_the_appeal_link(app, smtp, people, clock, turned_everything_down):
    with unit_of_work():
        review = published(people.shop, people.other, clock, stars=1)
        report(people.bystander, item(ItemKind.REVIEW, review.id), clock, reason="personal_info")
        decision = decisions.decide(item(ItemKind.REVIEW, review.id), people.mod, outcome="removed",
                                    rule="personal_info", facts=FACTS, now=clock.now())
        decision_id = decision.id
    delivery.deliver_pending()

    author = mails_to(smtp, "other@example.com", SUBJECT)
    assert "A moderator removed a review of Corner Cafe." in author.text
    assert FACTS in author.text
    assert "The rule: 1. Personal information" in author.text
    assert 'removed by moderators on 02 Mar 2026: Personal information' in author.text
    appeal_url = f"http://reviewsite.test/decisions/{decision_id}/appeal"
    assert appeal_url in author.urls and "you can appeal once, until" in author.text
    assert route(app, appeal_url) == ("moderation.appeal", {"decision_id": decision_id})
    assert "http://reviewsite.test/rules#rule-personal-info" in author.urls
    assert "List-Unsubscribe" not in author.headers, "a statement of reasons is not optional mail"
    assert f'href="http://reviewsite.test/decisions/{decision_id}"' in author.html

    reporter = mails_to(smtp, "bystander@example.com", SUBJECT)
    assert "You reported a review of Corner Cafe. A moderator looked at it and removed it." in reporter.text
    assert FACTS in reporter.text and appeal_url not in reporter.urls  # nothing for the reporter to appeal

    # The business hears that its review was removed (its own notice, not a statement).
    assert smtp.mails_with("The review of Corner Cafe was removed by a moderator", to="owner@example.com")
    assert not smtp.mails_with("was removed by a moderator", to="other@example.com"), "the author gets one mail"
    assert {m.to for m in smtp.mails_with(SUBJECT)} == {"other@example.com", "bystander@example.com"}

    # The author appeals; another moderator overturns; both hear it, with the reasons.
    with unit_of_work():
        appeal = appeals.file_appeal(decision, people.other, "The name is mine.", now=clock.now())
        appeals.decide_appeal(appeal, people.mod2, overturn=True, facts="The name is the author's own.",
                              now=clock.now())
    delivery.deliver_pending()
    about = "The decision on the appeal about a review of Corner Cafe"
    for address in ("other@example.com", "bystander@example.com"):
        mail = mails_to(smtp, address, about)
        assert "The decision was overturned: it is shown again." in mail.text
        assert "The name is the author's own." in mail.text and "final" in mail.text
    assert len({m.message_id for m in smtp.mails}) == len(smtp.mails)


def test_a_dismissal_reaches_the_reporter_with_the_appeal_link(app, smtp, people, clock, turned_everything_down):
    with unit_of_work():
        review = published(people.shop, people.other, clock, stars=5)
        report(people.bystander, item(ItemKind.REVIEW, review.id), clock, reason="spam")
        decision = decisions.decide(item(ItemKind.REVIEW, review.id), people.mod, outcome="dismissed", rule="spam",
                                    facts="No links and no advertising.", now=clock.now())
        decision_id = decision.id
    delivery.deliver_pending()
    mail = mails_to(smtp, "bystander@example.com", SUBJECT)
    assert "decided to leave it as it is" in mail.text
    assert "The rule we checked it against: 4. Spam or advertising" in mail.text
    assert f"http://reviewsite.test/decisions/{decision_id}/appeal" in mail.urls
    assert not smtp.mails_with(SUBJECT, to="other@example.com"), "the author was not affected"
    assert re.search(r"until \d\d \w\w\w \d{4}", mail.text)
