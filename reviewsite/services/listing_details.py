"""A listing's public details: their rules (shared with creation), owners' edits and the history.

Every change is kept (``ListingChange``, one row per field, old and new value), and a change of
name or city is shown on the page as "formerly ...": a listing cannot shed its reviews, or the
memory of them, by renaming. Edits change what the public business page shows, so they bump
``listing_version`` in the same transaction (``listings.changed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import Business, ListingChange, User
from reviewsite.services import access, business_events, listings
from reviewsite.services.errors import Invalid

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

NAME_MAX, CITY_MAX, ADDRESS_MAX, DESCRIPTION_MAX = 80, 60, 160, 1000
WEBSITE_MAX, EMAIL_MAX, HOURS_MAX = 200, 254, 500
# What an owner may edit, in the order the form and the history show them.
EDITABLE = ("name", "category", "city", "address", "description", "website", "contact_email", "hours")
LABELS = {"name": "Name", "category": "Category", "city": "City", "address": "Address",
          "description": "Description", "website": "Website", "contact_email": "Contact email",
          "hours": "Opening hours"}


def _required(value: str | None, label: str, maximum: int) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise Invalid(f"The {label} cannot be empty.")
    if len(value) > maximum:
        raise Invalid(f"The {label} can be at most {maximum} characters.")
    return value


def _optional_text(value: str | None, label: str, maximum: int) -> str:
    value = (value or "").strip()
    if len(value) > maximum:
        raise Invalid(f"The {label} can be at most {maximum} characters.")
    return value


def check_website(value: str | None) -> str | None:
    """A web address with a real host name; "example.com" becomes "https://example.com"."""
    value = (value or "").strip()
    if not value:
        return None
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if (parts.scheme not in ("http", "https") or "." not in host or host.startswith(".") or host.endswith(".")
            or any(c.isspace() for c in value) or len(value) > WEBSITE_MAX):
        raise Invalid(f"Give the website as a web address, such as https://example.com (at most {WEBSITE_MAX} characters).")
    return value


def domain_of_website(website: str | None) -> str | None:
    """The website's host without "www.": the domain duplicates and claim addresses go by."""
    if not website:
        return None
    host = (urlsplit(website).hostname or "").lower().rstrip(".")
    return host.removeprefix("www.") or None


def normalise_address(value: str | None) -> str:
    """An email address in the form we keep (lower case, no spaces), or Invalid."""
    value = (value or "").strip()
    if len(value) > EMAIL_MAX:
        raise Invalid(f"An email address can be at most {EMAIL_MAX} characters.")
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid("Give a valid email address, such as name@example.com.") from exc


def check_contact_email(value: str | None) -> str | None:
    value = (value or "").strip()
    return normalise_address(value) if value else None


@dataclass(frozen=True)
class Details:
    """A listing's details, checked: every rule a value must meet to be shown publicly."""

    name: str
    category: str
    city: str
    address: str
    description: str
    website: str | None
    contact_email: str | None
    hours: str

    @property
    def website_domain(self) -> str | None:
        return domain_of_website(self.website)


def check_details(*, name: str | None, category: str | None, city: str | None, address: str | None,
                  description: str | None = "", website: str | None = None, contact_email: str | None = None,
                  hours: str | None = "") -> Details:
    if category not in CATEGORIES:
        raise Invalid("Choose a category from the list.")
    return Details(
        name=_required(name, "name", NAME_MAX),
        category=category,
        city=_required(city, "city", CITY_MAX),
        address=_required(address, "address", ADDRESS_MAX),
        description=_optional_text(description, "description", DESCRIPTION_MAX),
        website=check_website(website),
        contact_email=check_contact_email(contact_email),
        hours=_optional_text(hours, "opening hours", HOURS_MAX),
    )


def edit(business: Business, owner: User, *, now: datetime, **values: str | None) -> list[str]:
    """An owner changes the listing's details. Each changed field is kept in the history with its
    old value; returns the fields that changed (none: nothing is written)."""
    access.require_owner(owner, business)
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise Invalid(f"These details cannot be edited: {', '.join(sorted(unknown))}.")
    current = {field: getattr(business, field) for field in EDITABLE}
    checked = check_details(**{**current, **values})
    changed = [field for field in EDITABLE if (getattr(checked, field) or "") != (current[field] or "")]
    if not changed:
        return []
    for field in changed:
        db.session.add(ListingChange(business_id=business.id, actor_id=owner.id, field=field,
                                     old_value=current[field] or "", new_value=getattr(checked, field) or "", at=now))
        setattr(business, field, getattr(checked, field))
    business.website_domain = checked.website_domain
    db.session.flush()
    business_events.audit(business.id, "details_changed", actor_id=owner.id, now=now, fields=changed)
    listings.changed([business.id])
    return changed


def history(business: Business, *, limit: int = 200) -> list[ListingChange]:
    return list(db.session.scalars(
        select(ListingChange).where(ListingChange.business_id == business.id)
        .order_by(ListingChange.at.desc(), ListingChange.id.desc()).limit(limit)
    ))


@dataclass(frozen=True)
class Formerly:
    names: tuple[str, ...]
    cities: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.names or self.cities)


def formerly(business: Business) -> Formerly:
    """The names and cities the listing had before, most recent first, without the current ones."""
    rows = db.session.execute(
        select(ListingChange.field, ListingChange.old_value)
        .where(ListingChange.business_id == business.id, ListingChange.field.in_(("name", "city")))
        .order_by(ListingChange.at.desc(), ListingChange.id.desc())
    ).all()
    found: dict[str, list[str]] = {"name": [], "city": []}
    current = {"name": business.name, "city": business.city}
    for field, old in rows:
        if old and old != current[field] and old not in found[field]:
            found[field].append(old)
    return Formerly(names=tuple(found["name"]), cities=tuple(found["city"]))
