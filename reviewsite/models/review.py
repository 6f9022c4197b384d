from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reviewsite.clock import now_utc
from reviewsite.db_types import UTCDateTime, partial_index, str_enum
from reviewsite.extensions import db
from reviewsite.models.business import Business
from reviewsite.models.user import User


class ReviewStatus(enum.StrEnum):
    HELD = "held"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"
    REMOVED = "removed"


class HoldChoice(enum.StrEnum):
    """What the reviewer chose at submission when the site runs ``HOLD_POLICY=reviewer_choice``
    (None: the site decided by the stars, ``low_stars``)."""

    PUBLISH_NOW = "publish_now"
    WINDOW = "window"


class Side(enum.StrEnum):
    REVIEWER = "reviewer"
    BUSINESS = "business"
    SYSTEM = "system"


class Review(db.Model):
    """A review and its place in the lifecycle. Only ``reviewsite.services.reviews`` changes
    ``status``; the CHECK constraints below mirror its transition table so that even a bug
    there cannot store a held review without a release time or a published one without a date."""

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    stars: Mapped[int]
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[ReviewStatus] = mapped_column(str_enum(ReviewStatus))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    # The make-it-right window. publish_at stays after release, as "was held until".
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extended_seconds: Mapped[int] = mapped_column(default=0)
    first_business_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The reviewer's own choice in reviewer-choice mode, kept for the review's public history.
    hold_choice: Mapped[HoldChoice | None] = mapped_column(str_enum(HoldChoice))
    # The next reminder to the business while nobody has replied (None: no more reminders).
    reminder_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminders_sent: Mapped[int] = mapped_column(default=0)

    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by: Mapped[Side | None] = mapped_column(str_enum(Side))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removal_reason: Mapped[str | None] = mapped_column(Text)

    # History a reader sees: the first rating if the reviewer changed it, and later edits.
    original_stars: Mapped[int | None]
    stars_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The reviewer marked the complaint resolved (only they can), with an optional public note.
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_note: Mapped[str | None] = mapped_column(Text)

    # The business's public response: a draft while held, public once the review is.
    response_body: Mapped[str | None] = mapped_column(Text)
    response_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    business: Mapped[Business] = relationship()
    author: Mapped[User] = relationship()
    messages: Mapped[list[ThreadMessage]] = relationship(
        back_populates="review", order_by="ThreadMessage.id"
    )

    __table_args__ = (
        UniqueConstraint("business_id", "author_id", name="uq_review_one_per_author"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
        CheckConstraint(
            "original_stars IS NULL OR original_stars BETWEEN 1 AND 5", name="original_stars_range"
        ),
        CheckConstraint("status <> 'held' OR publish_at IS NOT NULL", name="held_has_publish_at"),
        CheckConstraint(
            "status <> 'published' OR published_at IS NOT NULL", name="published_has_published_at"
        ),
        CheckConstraint(
            "status <> 'withdrawn' OR withdrawn_at IS NOT NULL", name="withdrawn_has_withdrawn_at"
        ),
        CheckConstraint(
            "status <> 'removed' OR (removed_at IS NOT NULL AND removal_reason IS NOT NULL)",
            name="removed_has_reasons",
        ),
        CheckConstraint("extended_seconds >= 0", name="extension_not_negative"),
        CheckConstraint("resolution_note IS NULL OR resolved_at IS NOT NULL", name="note_only_when_resolved"),
        # The sweep's index: only held rows, so an idle sweep reads nothing but this index.
        partial_index("ix_review_due", "publish_at", where="status = 'held'"),
        partial_index(
            "ix_review_reminder_due", "reminder_due_at", where="status = 'held' AND reminder_due_at IS NOT NULL"
        ),
        # The public business page: newest published first, the soonest held, the record.
        partial_index(
            "ix_review_business_published", "business_id", "published_at", "id", where="status = 'published'"
        ),
        partial_index("ix_review_business_held", "business_id", "publish_at", where="status = 'held'"),
        # The make-it-right record (services/record.py): every review that went through a window.
        partial_index("ix_review_business_window", "business_id", "held_at", where="held_at IS NOT NULL"),
    )

    @property
    def was_held(self) -> bool:
        return self.held_at is not None

    @property
    def is_held(self) -> bool:
        return self.status is ReviewStatus.HELD

    def window_ended(self, now: datetime) -> bool:
        """Held, but its time has come: it reads as published to everyone from ``publish_at``
        on, before the sweep has made that durable (invariant 8; ``services/listings.py`` has
        the same rule as a query)."""
        return self.status is ReviewStatus.HELD and self.publish_at is not None and self.publish_at <= now

    def __repr__(self) -> str:
        return f"<Review {self.id} {self.status}>"


class RemedyKind(enum.StrEnum):
    REFUND = "refund"
    REDO = "redo"
    CREDIT = "credit"
    APOLOGY = "apology"


class ThreadMessage(db.Model):
    """One message in a held review's private thread between reviewer and business. A message
    with ``remedy`` set is a structured offer from the business, which the reviewer may accept;
    an offer is never conditioned on changing or removing the review (DESIGN.md)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    side: Mapped[Side] = mapped_column(str_enum(Side))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    remedy: Mapped[RemedyKind | None] = mapped_column(str_enum(RemedyKind))
    # An offer goes offered -> accepted (by the reviewer) -> done (the reviewer confirms delivery).
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    review: Mapped[Review] = relationship(back_populates="messages")
    author: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("delivered_at IS NULL OR accepted_at IS NOT NULL", name="done_only_when_accepted"),
    )


class ReviewEvent(db.Model):
    """The audit trail: one row per state change or window change, written by the services."""

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
