from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reviewsite.clock import now_utc
from reviewsite.db_types import UTCDateTime, str_enum
from reviewsite.extensions import db
from reviewsite.models.user import User


class MemberRole(enum.StrEnum):
    OWNER = "owner"
    STAFF = "staff"


class Business(db.Model):
    """A listing. ``rating_count``/``rating_sum`` are kept by the review services so that a
    business page never aggregates its reviews on read; held reviews count too (DESIGN.md:
    we delay words, never the fact of a complaint)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(90), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(60))
    address: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    # Public details an owner keeps up to date (services.listing_details, with history).
    # website_domain is the website's host without "www.": duplicates are found by it, and a
    # claim may be verified by mail to an address at it (services.claims).
    website: Mapped[str | None] = mapped_column(String(200))
    website_domain: Mapped[str | None] = mapped_column(String(200), index=True)
    contact_email: Mapped[str | None] = mapped_column(String(254))
    hours: Mapped[str] = mapped_column(Text, default="", server_default="")
    # When someone first proved they run it; None means unclaimed. Set only by services.claims,
    # never back to None (a business always keeps an owner). Who listed it is in its events.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rating_count: Mapped[int] = mapped_column(default=0)
    rating_sum: Mapped[int] = mapped_column(default=0)
    # Bumped by the services in the same transaction as any change a public business page shows
    # (a review published, revised, withdrawn, removed, answered; a window moved), so a rendered
    # page can be cached under (business, listing_version) and is never served stale.
    listing_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    memberships: Mapped[list[Membership]] = relationship(back_populates="business")

    __table_args__ = (
        Index("ix_business_name_lower", db.func.lower(name)),
        # Search (services.businesses.search): name contains q, any case. A trigram index
        # serves LIKE '%q%' on PostgreSQL (migration 0005 installs pg_trgm); SQLite has none.
        Index(
            "ix_business_name_trgm",
            db.func.lower(name).label("name_lower"),
            postgresql_using="gin",
            postgresql_ops={"name_lower": "gin_trgm_ops"},
            # No pending list: business rows are updated on every review event (migration 0005).
            postgresql_with={"fastupdate": "off"},
        ).ddl_if(dialect="postgresql"),
        # The city and category filters compare lower(...) (exact, any case).
        Index("ix_business_city_category_lower", db.func.lower(city), db.func.lower(category)),
    )

    @property
    def is_claimed(self) -> bool:
        return self.claimed_at is not None

    @property
    def average_stars(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 1) if self.rating_count else None

    def __repr__(self) -> str:
        return f"<Business {self.slug}>"


class Membership(db.Model):
    """A verified member: someone proven to act for the business (a claim verified, an
    invitation accepted, or an owner from before claims existed). Only verified members have a
    row, so every query over memberships is over verified members (services.access); a pending
    claimant has a claim, not a membership, and a removed member's row is deleted (their
    messages keep their author)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    business: Mapped[Business] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("business_id", "user_id"),)
