"""The public pages: home, search and a business's page, the same for everyone who is not
signed in (``caching.py``)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, make_response, render_template, request
from flask_login import current_user

from reviewsite.clock import now_utc
from reviewsite.public import caching, paging
from reviewsite.public.forms import SearchForm
from reviewsite.services import access, businesses, listing_details, listings, public_moderation

bp = Blueprint("public", __name__)


@bp.route("/")
def home():
    return render_template("public/home.html", form=SearchForm(request.args), recent=businesses.recent())


@bp.route("/businesses")
def search():
    form = SearchForm(request.args)
    if not form.validate():
        return render_template("public/search.html", form=form, page=None), 400
    terms = form.terms()
    number = request.args.get("page", 1, type=int)

    def results(fetch) -> paging.Window:
        return paging.fetch(lambda limit, offset: fetch(**terms, limit=limit, offset=offset), page=number) or abort(404)

    def parts() -> tuple:
        # The arguments as typed (the form and the pager repeat them) and what was found.
        found = results(businesses.search_stamps)
        return tuple(request.args.get(name, "") for name in terms), found.page, found.has_next, tuple(found.items)

    return caching.public_page(
        parts, lambda: render_template("public/search.html", form=form, page=results(businesses.search)))


@bp.route("/b/<slug>")
def business(slug: str):
    number = request.args.get("page", 1, type=int)
    now = now_utc()
    return caching.public_page(lambda: (listings.stamp(slug, now=now) or abort(404), number),
                               lambda: _business_page(slug, number, now))


def _business_page(slug: str, number: int, now: datetime) -> str:
    found = businesses.by_slug(slug) or abort(404)
    removal = public_moderation.listing_removal(found.id)
    if removal is not None:  # 410 Gone, with the public line; never stored by the page cache
        abort(make_response(render_template("moderation/listing_removed.html", business=found, removal=removal), 410))
    held = listings.held_summary(found, now=now)
    # Reviews that read as published, and held ones, are exactly those the kept rating counts.
    page = paging.fetch(
        lambda limit, offset: listings.public_reviews(found, now=now, limit=limit, offset=offset),
        page=number, total=max(found.rating_count - held.total, 0),
    ) or abort(404)
    return render_template(
        "public/business.html", business=found, held=held, page=page,
        record=listings.complaint_record(found, now=now), role=access.role_of(current_user, found),
        formerly=listing_details.formerly(found),
        # A notice on the business and the lines left by removals (services/public_moderation.py).
        moderation=public_moderation.for_business(found, now=now),
    )
