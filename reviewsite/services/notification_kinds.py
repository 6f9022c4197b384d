"""Every kind of notification: its email subject, its one-line in-site summary, and the
preference topic a person can turn down (None: account mail, which always goes).

Texts never include a held review's words: a summary is shown in page headers and lists, and the
words belong in the private thread page, behind its access check (invariant 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import Any

from reviewsite.models import Notification
from reviewsite.text import isolate


@dataclass(frozen=True)
class Topic:
    label: str
    hint: str
    # Only people who act for a business get these (the settings page shows them to members only).
    business_only: bool = False


# What a person can choose about, in the order the settings page shows them.
TOPICS: dict[str, Topic] = {
    "review_held": Topic("A review of my business is held", "So you can make it right in time.", business_only=True),
    "thread_message": Topic("New messages and offers in a private thread",
                            "Messages sent within a few minutes come as one email."),
    "reminder": Topic("Reminders while nobody has replied", "Half-way through the window and a day before release.",
                      business_only=True),
    "review_published": Topic("A review I wrote or received is published", ""),
    "review_updates": Topic("A review is revised, extended, resolved, withdrawn or removed", ""),
}


def topics_for(acts_for_business: bool) -> dict[str, Topic]:
    """The topics a person can choose about: a customer is never asked about business mail."""
    return {name: topic for name, topic in TOPICS.items() if acts_for_business or not topic.business_only}


@dataclass(frozen=True)
class Kind:
    subject: str
    summary: str
    topic: str | None


KINDS: dict[str, Kind] = {
    "confirm_email": Kind("Confirm your email address", "Confirm your email address", None),
    "password_reset": Kind("Reset your password", "A password reset was requested", None),
    # Sign-up with an address that has an account: its owner hears of it, the visitor does not.
    "signup_attempt": Kind("Someone tried to sign up with your address", "Someone tried to sign up with your address",
                           None),
    "review_held": Kind(
        "A {stars}-star review of {business} is waiting for you",
        "A {stars}-star review of {business} is in its make-it-right window",
        "review_held",
    ),
    "thread_message": Kind(
        "{messages} about the review of {business}",
        "{messages} about the review of {business}",
        "thread_message",
    ),
    "remedy_offer": Kind(
        "{business} {offer_sentence}",
        "{business} {offer_sentence}, about your review",
        "thread_message",
    ),
    "offer_accepted": Kind(
        "The reviewer accepted your offer ({remedy})",
        "The reviewer of {business} accepted your offer ({remedy})",
        "thread_message",
    ),
    "reminder": Kind(
        "Reminder: a review of {business} goes public {publish_at}",
        "Nobody has replied yet to the {stars}-star review of {business}",
        "reminder",
    ),
    "offer_delivered": Kind(
        "The reviewer confirmed your offer was delivered ({remedy})",
        "The reviewer of {business} confirmed your offer was delivered ({remedy})",
        "thread_message",
    ),
    "review_resolved": Kind(
        "The reviewer marked the complaint about {business} resolved",
        "The reviewer marked the review of {business} resolved",
        "review_updates",
    ),
    "review_published": Kind(
        "The review of {business} is now public", "The review of {business} is now public", "review_published"
    ),
    "review_revised": Kind(
        "The review of {business} was revised", "The reviewer revised the review of {business}", "review_updates"
    ),
    "window_extended": Kind(
        "More time to make it right with a customer of {business}",
        "The reviewer extended the window for the review of {business}",
        "review_updates",
    ),
    "review_withdrawn": Kind(
        "The review of {business} was withdrawn", "The reviewer withdrew the review of {business}", "review_updates"
    ),
    "review_removed": Kind(
        "The review of {business} was removed by a moderator",
        "A moderator removed the review of {business}",
        "review_updates",
    ),
    "digest": Kind("Your daily summary from {site}", "Your daily summary", "digest"),
    # Statements of reasons always go (no topic): the person affected must learn how to appeal.
    "moderation_decision": Kind(
        "A moderator’s decision about {item}", "A moderator decided about {item}: {outcome_phrase}", None
    ),
    "appeal_decision": Kind(
        "The decision on the appeal about {item}", "The appeal about {item} is decided: {appeal_phrase}", None
    ),
    # Who the business is (services.claims, services.team): account mail, always sent.
    "claim_link": Kind(
        "Confirm that you run {business}",
        "We sent the link to confirm your claim of {business} to {email}",
        None,
    ),
    "claim_approved": Kind(
        "Your claim of {business} is approved", "A moderator approved your claim of {business}", None
    ),
    "claim_rejected": Kind(
        "Your claim of {business} was not approved", "A moderator did not approve your claim of {business}", None
    ),
    "team_invitation": Kind(
        "{inviter} invites you to join {business}",
        "{inviter} invited you to join {business} as {role}",
        None,
    ),
    "member_joined": Kind("{member} joined {business}", "{member} joined {business} as {role}", None),
}


# An offer as a noun ("made you an offer: redoing the work") and as what the business does
# ("Corner Cafe offers to redo the work for you"), so no sentence reads as if the review should be
# redone.
REMEDY_PHRASES = {
    "refund": "a refund",
    "redo": "redoing the work",
    "credit": "a credit",
    "apology": "an apology",
}
OFFER_SENTENCES = {
    "refund": "offers you a refund",
    "redo": "offers to redo the work for you",
    "credit": "offers you a credit",
    "apology": "offers you an apology",
}


# Statements of reasons: mandatory mail about a moderation decision, worded from its facts.
STATEMENT_KINDS = ("moderation_decision", "appeal_decision")
OUTCOME_PHRASES = {
    "dismissed": "left as it is",
    "removed": "removed",
    "notice": "a public notice on the business page",
}
APPEAL_PHRASES = {"upheld": "the decision stands", "overturned": "the decision was overturned"}


def statement_fields(facts: dict[str, Any]) -> dict[str, object]:
    """The words of a statement of reasons' subject and summary, from its facts."""
    return {
        "item": facts.get("item", ""),
        "outcome_phrase": OUTCOME_PHRASES.get(facts.get("outcome", ""), ""),
        "appeal_phrase": APPEAL_PHRASES.get(facts.get("appeal_outcome", ""), ""),
    }


def topic_of(kind: str) -> str | None:
    return KINDS[kind].topic


def _fields(notification: Notification) -> dict[str, object]:
    facts = notification.facts or {}
    count = int(facts.get("messages", 1))
    fields: dict[str, object] = {
        "messages": "A new message" if count == 1 else f"{count} new messages",
        "site": facts.get("site", "reviewsite"),
    }
    remedy = facts.get("remedy", "")
    fields["remedy"] = remedy
    fields["remedy_phrase"] = REMEDY_PHRASES.get(remedy, "a remedy")
    fields["offer_sentence"] = OFFER_SENTENCES.get(remedy, "makes you an offer")
    if notification.kind in STATEMENT_KINDS:
        fields.update(statement_fields(facts))
    for name in ("business", "email", "inviter", "member", "role"):  # facts of business notices
        fields[name] = isolate(facts.get(name, "")) if facts.get(name) else ""
    review = notification.review
    if review is not None:
        fields["business"] = isolate(review.business.name)  # shown in subjects and summaries
        fields["stars"] = notification.review_stars or review.stars
        publish_at = notification.review_publish_at
        fields["publish_at"] = f"{publish_at:%Y-%m-%d %H:%M} UTC" if publish_at else ""
    return fields


def subject_for(notification: Notification) -> str:
    return KINDS[notification.kind].subject.format(**_fields(notification))


def summary_for(notification: Notification) -> str:
    return KINDS[notification.kind].summary.format(**_fields(notification))
