"""Every kind of notification: its email subject, its one-line in-site summary, and the
preference topic a person can turn down (None: account mail, which always goes).

Texts never include a held review's words: a summary is shown in page headers and lists, and the
words belong in the private thread page, behind its access check (invariant 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from reviewsite.models import Notification
from reviewsite.text import isolate


@dataclass(frozen=True)
class Topic:
    label: str
    hint: str


# What a person can choose about, in the order the settings page shows them.
TOPICS: dict[str, Topic] = {
    "review_held": Topic("A low-star review of my business is held", "So you can make it right in time."),
    "thread_message": Topic("New messages in a private thread", "Messages sent within a few minutes come as one email."),
    "reminder": Topic("Reminders while nobody has replied", "Half-way through the window and a day before release."),
    "review_published": Topic("A review I wrote or received is published", ""),
    "review_updates": Topic("A review is revised, extended, withdrawn or removed", ""),
}


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
        "{business} offers you {remedy_phrase}",
        "{business} made an offer about your review: {remedy_phrase}",
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
}


REMEDY_PHRASES = {
    "refund": "a refund",
    "redo": "to redo it",
    "credit": "a credit",
    "apology": "an apology",
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
    review = notification.review
    if review is not None:
        fields["business"] = isolate(review.business.name)  # shown in subjects and summaries
        fields["stars"] = facts.get("stars", review.stars)
        publish_at = facts.get("publish_at")
        fields["publish_at"] = publish_at[:16].replace("T", " ") + " UTC" if publish_at else ""
    return fields


def subject_for(notification: Notification) -> str:
    return KINDS[notification.kind].subject.format(**_fields(notification))


def summary_for(notification: Notification) -> str:
    return KINDS[notification.kind].summary.format(**_fields(notification))
