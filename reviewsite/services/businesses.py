"""Business listings: creation (which makes nobody a member), the listings a member acts for,
and search."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select

from reviewsite.extensions import db
from reviewsite.fast_reads import key_rows
from reviewsite.models import Business, Membership, User
from reviewsite.services import business_events
from reviewsite.services.duplicates import Duplicate, likely_duplicates
from reviewsite.services.errors import Conflict, NotAllowed
from reviewsite.services.listing_details import check_details
from reviewsite.services.public_moderation import listing_removed

class LikelyDuplicates(Conflict):
    """The listing may already exist: the person is asked "is it one of these?" first."""

    def __init__(self, matches: list[Duplicate]) -> None:
        super().__init__("This business may already be listed. Is it one of these?")
        self.matches = matches


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:70] or "business"


def _unique_slug(base: str) -> str:
    taken = set(db.session.scalars(select(Business.slug).where(Business.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def create_business(
    lister: User,
    *,
    name: str,
    category: str,
    city: str,
    address: str,
    description: str,
    now: datetime,
    website: str | None = None,
    contact_email: str | None = None,
    despite_duplicates: bool = False,
) -> Business:
    """Anyone signed in and confirmed may add a listing; it is unclaimed and adding it makes
    nobody a member (only a verified claim does, services.claims). Unless the person has seen
    them and goes on anyway, likely duplicates refuse it (LikelyDuplicates carries them)."""
    if not lister.is_confirmed:
        raise NotAllowed("Confirm your email address before creating a listing.")
    details = check_details(name=name, category=category, city=city, address=address, description=description,
                            website=website, contact_email=contact_email)
    if not despite_duplicates:
        matches = likely_duplicates(name=details.name, city=details.city, address=details.address,
                                    website=details.website)
        if matches:
            raise LikelyDuplicates(matches)
    business = Business(
        slug=_unique_slug(slugify(f"{details.name} {details.city}")),
        name=details.name,
        category=details.category,
        city=details.city,
        address=details.address,
        description=details.description,
        website=details.website,
        website_domain=details.website_domain,
        contact_email=details.contact_email,
        hours=details.hours,
        created_at=now,
    )
    db.session.add(business)
    db.session.flush()
    business_events.audit(business.id, "listed", actor_id=lister.id, now=now,
                           despite_duplicates=despite_duplicates)
    return business


def by_slug(slug: str) -> Business | None:
    return db.session.scalar(select(Business).where(Business.slug == slug))


def recent(limit: int = 8) -> list[Business]:
    """The newest listings moderators have not removed (the home page)."""
    return list(db.session.scalars(
        select(Business).where(~listing_removed(Business.id)).order_by(Business.created_at.desc()).limit(limit)))


def businesses_of(user: User) -> list[Business]:
    return list(
        db.session.scalars(
            select(Business).join(Membership).where(Membership.user_id == user.id).order_by(Business.name)
        )
    )


# What tells one state of a business, as a search result shows it, from another (see
# ``reviewsite/public/caching.py``): its rating and name change only with ``listing_version``.
# Table columns, not ORM attributes: read through the fast path (reviewsite/fast_reads.py).
_table = Business.__table__
SEARCH_STAMP = (_table.c.id, _table.c.created_at, _table.c.listing_version)


def search(*, q: str = "", category: str = "", city: str = "", limit: int, offset: int = 0) -> list[Business]:
    """Name contains ``q`` (any case, LIKE wildcards taken literally); category and city match
    exactly, any case; ordered by name; listings moderators removed left out. On PostgreSQL the
    name test uses a trigram index."""
    statement, params = _search(False, q, category, city, limit, offset)
    return list(db.session.scalars(statement, params))


def search_stamps(*, q: str = "", category: str = "", city: str = "", limit: int, offset: int = 0) -> list[tuple]:
    """The :data:`SEARCH_STAMP` of each business :func:`search` finds, in the same order."""
    statement, params = _search(True, q, category, city, limit, offset)
    return [tuple(row) for row in key_rows(statement, params)]


def _search(stamps: bool, q: str, category: str, city: str, limit: int, offset: int) -> tuple[Select[Any], dict]:
    q, category, city = q.strip().lower(), category.strip().lower(), city.strip().lower()
    params: dict[str, object] = {"limit": limit, "offset": offset, "category": category, "city": city,
                                 "name": "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"}
    return _search_statement(stamps, bool(q), bool(category), bool(city)), params


@cache
def _search_statement(stamps: bool, by_name: bool, by_category: bool, by_city: bool) -> Select[Any]:
    """One statement per combination of filters, made once (as ``listings._STAMP``; a search
    stamp is read on every view of a cached results page)."""
    columns = _table.c if stamps else Business
    # A listing moderators removed is found by nobody (its page answers 410).
    query = (select(*SEARCH_STAMP) if stamps else select(Business)).where(~listing_removed(columns.id))
    if by_name:
        query = query.where(func.lower(columns.name).like(bindparam("name"), escape="\\"))
    if by_category:
        query = query.where(func.lower(columns.category) == bindparam("category"))
    if by_city:
        query = query.where(func.lower(columns.city) == bindparam("city"))
    return query.order_by(columns.name, columns.id).limit(bindparam("limit")).offset(bindparam("offset"))
