from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reviewsite.clock import now_utc
from reviewsite.db_types import UTCDateTime, partial_index, str_enum
from reviewsite.extensions import db
from reviewsite.models.review import Review
from reviewsite.models.user import User


class EmailStatus(enum.StrEnum):
    PENDING = "pending"  # to be emailed now (or at next_attempt_at)
    SENT = "sent"  # emailed, alone or inside a digest
    DEAD = "dead"  # gave up after MAIL_MAX_ATTEMPTS; an operator can retry it
    DIGEST = "digest"  # waits for the recipient's daily digest
    SITE_ONLY = "site_only"  # the recipient wants it in the site only


class Delivery(enum.StrEnum):
    """What a person chose for a topic."""

    EMAIL = "email"
    DIGEST = "digest"
    SITE_ONLY = "site_only"


class Notification(db.Model):
    """The transactional outbox and the in-site notice in one row.

    Written in the same transaction as the fact it reports, so a committed fact always has its
    notification; ``dedupe_key`` is unique so that a fact produces at most one row per person.
    Email delivery claims the row with a lease (``lease_until``) and marks it sent afterwards.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    # The account it is for (its in-site notice); None only for mail to an address with no
    # account yet (an invitation). ``to_address``, when set, is where the email goes instead of
    # the recipient's account address (a claim's link to an address at the business's domain).
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    to_address: Mapped[str | None] = mapped_column(String(254))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("review.id"))
    # The review as it was when this was written: a notice read or mailed later must say the
    # stars and release time of that moment, not what the review became since.
    review_stars: Mapped[int | None]
    review_publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Anything else the notice needs (the remedy offered, a count of messages, a digest's items).
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    email_status: Mapped[EmailStatus] = mapped_column(
        str_enum(EmailStatus), default=EmailStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)

    recipient: Mapped[User | None] = relationship()
    review: Mapped[Review | None] = relationship()

    __table_args__ = (
        CheckConstraint("recipient_id IS NOT NULL OR to_address IS NOT NULL", name="has_recipient"),
        Index("ix_notification_recipient_created", "recipient_id", "created_at"),
        partial_index("ix_notification_pending", "next_attempt_at", where="email_status = 'pending'"),
    )


class NotificationPreference(db.Model):
    """A person's choice for one topic; no row means the default, email at once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    topic: Mapped[str] = mapped_column(String(40))
    delivery: Mapped[Delivery] = mapped_column(str_enum(Delivery))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    __table_args__ = (UniqueConstraint("user_id", "topic"),)


class DevMail(db.Model):
    """The development mailbox: mail that would have been sent when no SMTP server is set."""

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200))
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
