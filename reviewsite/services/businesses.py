"""Business listings: creation (the creator becomes owner), membership and search."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select

from reviewsite.extensions import db
from reviewsite.models import Business, MemberRole, Membership, User
from reviewsite.services.errors import Invalid, NotAllowed

CATEGORIES = (
    "Restaurant",
    "Cafe",
    "Bar",
    "Shop",
    "Hotel",
    "Trades",
    "Health",
    "Beauty",
    "Auto",
    "Services",
    "Other",
)


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
    owner: User,
    *,
    name: str,
    category: str,
    city: str,
    address: str,
    description: str,
    now: datetime,
) -> Business:
    if not owner.is_confirmed:
        raise NotAllowed("Confirm your email address before creating a listing.")
    name, city, address = name.strip(), city.strip(), address.strip()
    if not (name and city and address):
        raise Invalid("Name, city and address are all needed.")
    if category not in CATEGORIES:
        raise Invalid("Choose a category from the list.")
    business = Business(
        slug=_unique_slug(slugify(f"{name} {city}")),
        name=name,
        category=category,
        city=city,
        address=address,
        description=(description or "").strip(),
        created_at=now,
    )
    db.session.add(business)
    db.session.flush()
    db.session.add(Membership(business_id=business.id, user_id=owner.id, role=MemberRole.OWNER, created_at=now))
    db.session.flush()
    return business


def by_slug(slug: str) -> Business | None:
    return db.session.scalar(select(Business).where(Business.slug == slug))


def recent(limit: int = 8) -> list[Business]:
    return list(db.session.scalars(select(Business).order_by(Business.created_at.desc()).limit(limit)))


def businesses_of(user: User) -> list[Business]:
    return list(
        db.session.scalars(
            select(Business).join(Membership).where(Membership.user_id == user.id).order_by(Business.name)
        )
    )


# What tells one state of a business, as a search result shows it, from another (see
# ``reviewsite/public/caching.py``): its rating and name change only with ``listing_version``.
SEARCH_STAMP = (Business.id, Business.created_at, Business.listing_version)


def search(*, q: str = "", category: str = "", city: str = "", limit: int, offset: int = 0) -> list[Business]:
    """Name contains ``q`` (any case, LIKE wildcards taken literally); category and city match
    exactly, any case; ordered by name. On PostgreSQL the name test uses a trigram index."""
    statement, params = _search(False, q, category, city, limit, offset)
    return list(db.session.scalars(statement, params))


def search_stamps(*, q: str = "", category: str = "", city: str = "", limit: int, offset: int = 0) -> list[tuple]:
    """The :data:`SEARCH_STAMP` of each business :func:`search` finds, in the same order."""
    statement, params = _search(True, q, category, city, limit, offset)
    return [tuple(row) for row in db.session.execute(statement, params)]


def _search(stamps: bool, q: str, category: str, city: str, limit: int, offset: int) -> tuple[Select[Any], dict]:
    q, category, city = q.strip().lower(), category.strip().lower(), city.strip().lower()
    params: dict[str, object] = {"limit": limit, "offset": offset, "category": category, "city": city,
                                 "name": "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"}
    return _search_statement(stamps, bool(q), bool(category), bool(city)), params


@cache
def _search_statement(stamps: bool, by_name: bool, by_category: bool, by_city: bool) -> Select[Any]:
    """One statement per combination of filters, made once (as ``listings._STAMP``; a search
    stamp is read on every view of a cached results page)."""
    query = select(*SEARCH_STAMP) if stamps else select(Business)
    if by_name:
        query = query.where(func.lower(Business.name).like(bindparam("name"), escape="\\"))
    if by_category:
        query = query.where(func.lower(Business.category) == bindparam("category"))
    if by_city:
        query = query.where(func.lower(Business.city) == bindparam("city"))
    return query.order_by(Business.name, Business.id).limit(bindparam("limit")).offset(bindparam("offset"))
