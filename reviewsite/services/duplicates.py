"""Likely duplicates of a listing about to be created: "is it one of these?".

A business listed twice splits its reviews and lets a second "owner" read complaints meant for
the first, so creation asks first. Likely means: in the same city with a similar name or the
same street address, or anywhere with the same website domain. Written once with portable
SQL (LIKE, lower(), equality; no dialect branch), then ranked in Python:

- the database narrows to the same website domain, or to the same city and either the same
  address or a name containing the first letters of one of the new name's distinctive words
  (words such as "the" or a category name are not distinctive), a bounded number of rows;
- a name is similar when, by their distinctive words (letters and digits only, any case), one
  contains the other or their difflib ratio is at least :data:`SIMILAR`.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from reviewsite.extensions import db
from reviewsite.models import Business
from reviewsite.services.listing_details import CATEGORIES, domain_of_website

SIMILAR = 0.75
PREFIX = 4  # letters of a distinctive word a candidate's name must contain
CANDIDATES = 200
SHOWN = 5
COMMON_WORDS = frozenset({"the", "and", "of", "ltd", "limited", "co", "company", "inc", "llc", "plc", "uk",
                          *(category.lower() for category in CATEGORIES), "cafe", "restaurant", "shop"})


@dataclass(frozen=True)
class Duplicate:
    slug: str
    name: str
    city: str
    address: str
    why: str  # "same website", "same address", "similar name"


def _fold(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.findall(r"[a-z0-9]+", ascii_text.lower()))


def _address_key(address: str) -> str:
    return _fold(address)


def _distinctive(name: str) -> list[str]:
    """The words that tell a business from others (all of them if none does)."""
    words = _fold(name).split()
    return [w for w in words if w not in COMMON_WORDS] or words


def _similar(a: str, b: str) -> bool:
    a, b = "".join(_distinctive(a)), "".join(_distinctive(b))
    if not a or not b:
        return False
    return a in b or b in a or difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR


def _like(fragment: str) -> str:
    return "%" + fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def likely_duplicates(*, name: str, city: str, address: str, website: str | None) -> list[Duplicate]:
    """Listings that may be the one about to be created, best matches first (at most SHOWN)."""
    name, city, address = (name or "").strip(), (city or "").strip().lower(), (address or "").strip()
    domain = domain_of_website(website)
    words = _distinctive(name)
    in_city = [func.lower(Business.name).like(_like(word[:PREFIX]), escape="\\") for word in words]
    if address:
        in_city.append(func.lower(Business.address) == address.lower())
    conditions = []
    if city and in_city:
        conditions.append((func.lower(Business.city) == city) & or_(*in_city))
    if domain:
        conditions.append(Business.website_domain == domain)
    if not conditions:
        return []
    candidates = db.session.execute(
        select(Business.slug, Business.name, Business.city, Business.address, Business.website_domain)
        .where(or_(*conditions)).order_by(Business.id).limit(CANDIDATES)
    ).all()
    found: list[tuple[int, float, Duplicate]] = []
    for slug, other_name, other_city, other_address, other_domain in candidates:
        same_city = other_city.lower() == city
        if domain and other_domain == domain:
            rank, why = 0, "same website"
        elif same_city and _address_key(other_address) == _address_key(address):
            rank, why = 1, "same address"
        elif same_city and _similar(name, other_name):
            rank, why = 2, "similar name"
        else:
            continue
        score = difflib.SequenceMatcher(None, _fold(name), _fold(other_name)).ratio()
        found.append((rank, -score, Duplicate(slug, other_name, other_city, other_address, why)))
    found.sort(key=lambda item: (item[0], item[1]))
    return [duplicate for _, _, duplicate in found[:SHOWN]]
