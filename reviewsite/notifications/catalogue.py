"""Every kind of notification: its email subject and its one-line in-site summary.

Texts never include a held review's words: a summary is shown in page headers and lists, and the
words belong in the private thread page, behind its access check (invariant 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from reviewsite.models import Notification


@dataclass(frozen=True)
class Kind:
    subject: str
    summary: str
    # Account mail (confirmation, reset) is strictly transactional and has no review link.
    links_to_review: bool = True


KINDS: dict[str, Kind] = {
    "confirm_email": Kind("Confirm your email address", "Confirm your email address", False),
    "password_reset": Kind("Reset your password", "A password reset was requested", False),
    "review_held": Kind(
        "A {stars}-star review of {business} is waiting for you",
        "A {stars}-star review of {business} is in its make-it-right window",
    ),
    "thread_message": Kind(
        "New message about the review of {business}", "New message about the review of {business}"
    ),
    "review_published": Kind(
        "The review of {business} is now public", "The review of {business} is now public"
    ),
    "review_revised": Kind(
        "The review of {business} was revised", "The reviewer revised the review of {business}"
    ),
    "window_extended": Kind(
        "More time to make it right with a customer of {business}",
        "The reviewer extended the window for the review of {business}",
    ),
    "review_withdrawn": Kind(
        "The review of {business} was withdrawn", "The reviewer withdrew the review of {business}"
    ),
    "review_removed": Kind(
        "The review of {business} was removed by a moderator",
        "A moderator removed the review of {business}",
    ),
}


def _fields(notification: Notification) -> dict[str, object]:
    review = notification.review
    if review is None:
        return {}
    return {"business": review.business.name, "stars": notification.facts.get("stars", review.stars)}


def subject_for(notification: Notification) -> str:
    return KINDS[notification.kind].subject.format(**_fields(notification))


def summary_for(notification: Notification) -> str:
    return KINDS[notification.kind].summary.format(**_fields(notification))
