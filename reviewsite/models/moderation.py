"""Trust and safety: reports, the moderators' decisions (statements of reasons), appeals, public
notices on businesses that pressed a reviewer, and the moderators' action log.

Only the services in ``reviewsite.services`` (reports, decisions, appeals, pressure_notices)
change ``status`` here, through the transition tables in ``services/moderation.py``; the CHECK
constraints mirror those tables so that a decided report always names its decision and a decided
appeal always has its reasons.

What was reported is named by ``target_key`` ("review:12", "response:12", "listing:3",
"message:45"), with typed foreign keys beside it for integrity: one string to group reports of
the same item and to make "one open report per person and item" a unique index.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reviewsite.clock import now_utc
from reviewsite.db_types import UTCDateTime, partial_index, str_enum
from reviewsite.extensions import db
from reviewsite.models.business import Business
from reviewsite.models.review import Review, Side, ThreadMessage
from reviewsite.models.user import User


class ItemKind(enum.StrEnum):
    REVIEW = "review"
    RESPONSE = "response"  # the business's public response to a review
    LISTING = "listing"
    MESSAGE = "message"  # a message or an offer in a private thread


class Rule(enum.StrEnum):
    """The site's rules, which are also the reasons a report can give. None depends on the
    rating (invariant 9); their words are in ``services/rules.py``."""

    PERSONAL_INFO = "personal_info"
    HARASSMENT = "harassment"
    THREATS = "threats"
    SPAM = "spam"
    NOT_GENUINE = "not_genuine"
    OFF_TOPIC = "off_topic"
    ILLEGAL = "illegal"
    # In a private thread only:
    CONDITIONED_OFFER = "conditioned_offer"
    DEMAND = "demand"
    PRESSURE = "pressure"


class ReportStatus(enum.StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"  # a moderator found no breach
    UPHELD = "upheld"  # the item was removed, or the business got a notice


class Outcome(enum.StrEnum):
    DISMISSED = "dismissed"
    REMOVED = "removed"
    NOTICE = "notice"  # a public notice on the business page, for a set time


class DecisionStatus(enum.StrEnum):
    IN_FORCE = "in_force"
    REVERSED = "reversed"  # overturned on appeal


class AppealStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"  # the decision stands
    OVERTURNED = "overturned"


class NoticeStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"  # its time ran out
    LIFTED = "lifted"  # overturned on appeal


_KIND = str_enum(ItemKind, length=10)
_SIDE = str_enum(Side)


class Report(db.Model):
    """Someone says an item breaks a rule. ``reporter_id`` is None for a message flagged
    automatically (condition language the business sent anyway). A report never changes the
    item: only a moderator's decision does (DESIGN.md, "a reported item stays as it is")."""

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    kind: Mapped[ItemKind] = mapped_column(_KIND)
    target_key: Mapped[str] = mapped_column(String(40), index=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"), index=True)
    # Indexed: the private thread page reads its messages' flags by review.
    review_id: Mapped[int | None] = mapped_column(ForeignKey("review.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("thread_message.id"))
    # Who wrote the item (a review, a message); None when the business as such did (a
    # response, a listing). author_side says whose it is.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    author_side: Mapped[Side] = mapped_column(_SIDE)
    reason: Mapped[Rule] = mapped_column(str_enum(Rule, length=20))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ReportStatus] = mapped_column(str_enum(ReportStatus), default=ReportStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"))

    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    business: Mapped[Business] = relationship()
    decision: Mapped[Decision | None] = relationship(back_populates="reports")

    __table_args__ = (
        CheckConstraint(
            "(status = 'open' AND decision_id IS NULL AND decided_at IS NULL)"
            " OR (status <> 'open' AND decision_id IS NOT NULL AND decided_at IS NOT NULL)",
            name="decided_has_decision",
        ),
        # One open report per person and item (a double click, a second tab): the database says so.
        Index("uq_report_open_per_reporter", "reporter_id", "target_key", unique=True,
              postgresql_where=text("status = 'open' AND reporter_id IS NOT NULL"),
              sqlite_where=text("status = 'open' AND reporter_id IS NOT NULL")),
        # One open automatic flag per item.
        Index("uq_report_open_flag", "target_key", unique=True,
              postgresql_where=text("status = 'open' AND reporter_id IS NULL"),
              sqlite_where=text("status = 'open' AND reporter_id IS NULL")),
        # The queue: open reports, oldest first.
        partial_index("ix_report_open", "created_at", where="status = 'open'"),
        Index("ix_report_created", "created_at"),
    )

    @property
    def automatic(self) -> bool:
        return self.reporter_id is None


class Decision(db.Model):
    """A moderator's decision about one item, which is its statement of reasons: what was
    decided (``outcome``), the facts relied on, the rule. A first decision can be appealed once
    until ``appeal_until``; a decision made on the appeal of another (``appeal_of_id``) is final
    and has none."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ItemKind] = mapped_column(_KIND)
    target_key: Mapped[str] = mapped_column(String(40), index=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"), index=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("review.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("thread_message.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    author_side: Mapped[Side] = mapped_column(_SIDE)
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome))
    rule: Mapped[Rule] = mapped_column(str_enum(Rule, length=20))
    facts: Mapped[str] = mapped_column(Text)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    appeal_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[DecisionStatus] = mapped_column(str_enum(DecisionStatus), default=DecisionStatus.IN_FORCE)
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The decision whose appeal this one was made on (then it is final), if any.
    appeal_of_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"))
    # A removed response's words, so that an appeal can put them back.
    snapshot: Mapped[str | None] = mapped_column(Text)

    moderator: Mapped[User] = relationship(foreign_keys=[moderator_id])
    business: Mapped[Business] = relationship()
    review: Mapped[Review | None] = relationship()
    message: Mapped[ThreadMessage | None] = relationship()
    reports: Mapped[list[Report]] = relationship(back_populates="decision", order_by="Report.id")
    appeal: Mapped[Appeal | None] = relationship(back_populates="decision", uselist=False)
    appeal_of: Mapped[Decision | None] = relationship(remote_side=[id])

    __table_args__ = (
        CheckConstraint("status <> 'reversed' OR reversed_at IS NOT NULL", name="reversed_has_date"),
        CheckConstraint("appeal_of_id IS NULL OR appeal_until IS NULL", name="appeal_decision_is_final"),
        Index("ix_decision_decided", "decided_at"),
    )


class Appeal(db.Model):
    """The one appeal against a decision (``decision_id`` is unique), by the person it affected;
    decided by a different moderator, whose decision is final and comes with its own reasons."""

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), unique=True)
    appellant_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    statement: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    status: Mapped[AppealStatus] = mapped_column(str_enum(AppealStatus), default=AppealStatus.OPEN)
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    facts: Mapped[str | None] = mapped_column(Text)

    decision: Mapped[Decision] = relationship(back_populates="appeal")
    appellant: Mapped[User] = relationship(foreign_keys=[appellant_id])
    moderator: Mapped[User | None] = relationship(foreign_keys=[moderator_id])

    __table_args__ = (
        CheckConstraint(
            "status = 'open' OR (moderator_id IS NOT NULL AND decided_at IS NOT NULL AND facts IS NOT NULL)",
            name="decided_has_reasons",
        ),
        partial_index("ix_appeal_open", "created_at", where="status = 'open'"),
        Index("ix_appeal_created", "created_at"),
    )


class PressureNotice(db.Model):
    """A public notice on a business page: the business was found to have pressed a reviewer.
    Shown from ``issued_at`` until ``ends_at`` (a sweep marks it expired and bumps the page's
    ``listing_version``, so no cached page shows it longer), or until an appeal lifts it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), unique=True)
    rule: Mapped[Rule] = mapped_column(str_enum(Rule, length=20))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[NoticeStatus] = mapped_column(str_enum(NoticeStatus), default=NoticeStatus.ACTIVE)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    business: Mapped[Business] = relationship()
    decision: Mapped[Decision] = relationship()

    __table_args__ = (
        CheckConstraint("ends_at > issued_at", name="ends_after_issue"),
        CheckConstraint("status = 'active' OR ended_at IS NOT NULL", name="ended_has_date"),
        partial_index("ix_pressure_notice_due", "ends_at", where="status = 'active'"),
        Index("ix_pressure_notice_issued", "issued_at"),
    )


class ModerationEvent(db.Model):
    """The moderators' action log: who did what, when, under which rule. ``actor_id`` is None
    for the system (a sweep, an automatic flag) and for an operator's command."""

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    business_id: Mapped[int | None] = mapped_column(ForeignKey("business.id"), index=True)
    target_key: Mapped[str | None] = mapped_column(String(40))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("pressure_notice.id"))
    rule: Mapped[str | None] = mapped_column(String(20))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    actor: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_moderation_event_at", "at"),)
