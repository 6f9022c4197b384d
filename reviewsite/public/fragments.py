"""The cached part of a public business page: the complaint record, the held placeholders and a
page of published reviews, rendered once per (business, ``listing_version``, page).

Why a cached fragment is never stale: every service that changes what this fragment shows bumps
``business.listing_version`` in the same transaction (``listings.changed``; the rating counter
does it too), and the key holds the version read from the business row at the start of the
request. Everything the fragment shows is read after that row, so it is at least as new as the
version in its key; once a change commits, every later request reads the new version and misses
the old entry. Old entries are never invalidated, only never asked for again (they expire or are
evicted).

Why it never holds a held review's words (invariant 1): held reviews reach it only as
placeholders (``listings.held_summary`` selects stars and dates, nothing else), reviews are
listed only once published, and a published review never becomes held again. Nothing in it
depends on who is asking: the per-user parts (the member's button, the header) and the rating
figures are rendered around it on every request.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, render_template
from markupsafe import Markup

from reviewsite.extensions import cache, db
from reviewsite.models import Business
from reviewsite.public import page_cache
from reviewsite.services import listings

PER_PAGE = 20
# A page number beyond any real listing (20 billion reviews): refused before any query, so a
# crafted ?page= cannot overflow OFFSET.
MAX_PAGE = 1_000_000_000


@dataclass(frozen=True)
class Listing:
    record: Markup
    body: Markup


def _key(business: Business, page: int) -> str:
    # created_at too: ids can come back (a database restored or rebuilt under a shared cache).
    created = int(business.created_at.timestamp() * 1_000_000)
    return f"business-listing:{page_cache.render_digest()}:{business.id}.{created}:v{business.listing_version}:p{page}"


def business_listing(business: Business, page: int) -> Listing:
    """The rendered fragment for ``page`` (1-based) of ``business``, from the cache if it is
    there. A page past the last one is a 404 (and never cached)."""
    if not 1 <= page <= MAX_PAGE:
        abort(404)
    key = _key(business, page)
    cached = cache.get(key)
    if cached is not None:
        record, body = cached
        # Markup: both were rendered by our autoescaped templates below (bandit B704 accepted).
        return Listing(Markup(record), Markup(body))  # nosec B704

    held = listings.held_summary(business)
    # Held and published reviews are exactly the ones the kept rating counts: no COUNT query.
    published = max(business.rating_count - held.total, 0)
    if page > 1 and (page - 1) * PER_PAGE >= published:
        abort(404)
    reviews = db.paginate(
        listings.published_reviews_query(business), page=page, per_page=PER_PAGE, error_out=False, count=False
    )
    reviews.total = published
    record = render_template("public/_business_record.html", record=listings.record(business))
    body = render_template("public/_business_listing.html", business=business, held=held, page=reviews)
    cache.set(key, (record, body))
    return Listing(Markup(record), Markup(body))  # nosec B704
