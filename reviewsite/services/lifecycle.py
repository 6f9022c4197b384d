"""The transition table of the review lifecycle (DESIGN.md), in one place.

Every service that changes a review asks :func:`require` first and then writes with a
compare-and-set (``UPDATE ... WHERE status IN allowed``), so a duplicate task, a double click or a
race with the sweep changes nothing and raises instead of reporting a success that did not happen.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from reviewsite.models import Review, ReviewEvent, ReviewStatus
from reviewsite.services.persistence import insert_row
from reviewsite.services.transitions import Transitions

H, P, W, R = (ReviewStatus.HELD, ReviewStatus.PUBLISHED, ReviewStatus.WITHDRAWN, ReviewStatus.REMOVED)


class Action(enum.StrEnum):
    PUBLISH_DUE = "publish_due"
    RELEASE = "release"
    REPLY = "reply"
    RESPOND = "respond"
    REVISE = "revise"
    EXTEND = "extend"
    WITHDRAW = "withdraw"
    REMOVE = "remove"
    RESTORE = "restore"
    REMIND = "remind"
    RESOLVE = "resolve"
    CONFIRM_DELIVERY = "confirm_delivery"


ALLOWED_FROM: dict[Action, frozenset[ReviewStatus]] = {
    Action.PUBLISH_DUE: frozenset({H}),
    Action.RELEASE: frozenset({H}),
    Action.REPLY: frozenset({H}),
    Action.RESPOND: frozenset({H, P}),
    Action.REVISE: frozenset({H, P}),
    Action.EXTEND: frozenset({H}),
    Action.WITHDRAW: frozenset({H, P}),
    Action.REMOVE: frozenset({H, P}),
    Action.RESTORE: frozenset({R}),
    Action.REMIND: frozenset({H}),
    # The reviewer's own account of how it ended: during the window or after publication.
    Action.RESOLVE: frozenset({H, P}),
    Action.CONFIRM_DELIVERY: frozenset({H, P}),
}

_REFUSALS = {
    Action.PUBLISH_DUE: "This review is not waiting to be published.",
    Action.RELEASE: "Only a review in its make-it-right window can be released.",
    Action.REPLY: "The private thread is closed: the review is no longer in its window.",
    Action.RESPOND: "A response can only be written for a held or published review.",
    Action.REVISE: "This review can no longer be changed.",
    Action.EXTEND: "Only a review in its make-it-right window can be extended.",
    Action.WITHDRAW: "This review has already been withdrawn or removed.",
    Action.REMOVE: "This review has already been withdrawn or removed.",
    Action.RESTORE: "Only a removed review can be restored.",
    Action.REMIND: "Only a review in its make-it-right window needs a reminder.",
    Action.RESOLVE: "Only a held or published review can be marked resolved.",
    Action.CONFIRM_DELIVERY: "Only an offer about a held or published review can be confirmed.",
}


REVIEWS = Transitions(Review, ALLOWED_FROM, by_action=_REFUSALS)


def require(review: Review, action: Action) -> None:
    REVIEWS.require(review, action)


def compare_and_set(review: Review, action: Action, *conditions: Any, **values: Any) -> None:
    """Write ``values`` only if the row is still in an allowed state (and ``conditions`` hold).

    The in-memory object may be stale (another worker published it a millisecond ago); the
    database row decides. Zero rows changed is an error, never a silent no-op."""
    REVIEWS.compare_and_set(review, action, *conditions, **values)


def audit(
    review: Review,
    action: str,
    *,
    actor_id: int | None,
    now: datetime,
    from_status: ReviewStatus | None = None,
    to_status: ReviewStatus | None = None,
    **details: Any,
) -> ReviewEvent:
    """Write the review's audit entry (``ReviewEvent``): who did what, from which state to which.
    Written at once, so that its id can name the fact in a notification's dedupe key."""
    return insert_row(ReviewEvent, {
        "review_id": review.id,
        "actor_id": actor_id,
        "action": action,
        "from_status": from_status.value if from_status else None,
        "to_status": to_status.value if to_status else None,
        "details": details,
        "at": now,
    })
