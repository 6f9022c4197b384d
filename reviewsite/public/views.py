"""The public pages: home, search and a business's page, the same for everyone who is not
signed in (``caching.py``)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, make_response, render_template, request
from flask_login import current_user

from reviewsite.clock import now_utc
from reviewsite.forms import CONTROL_CHARACTERS
from reviewsite.public import caching, paging
from reviewsite.public.forms import ReviewListForm, SearchForm
from reviewsite.services import access, businesses, inbox, listing_details, listings, public_moderation, record
from reviewsite.services.window import window_policy

bp = Blueprint("public", __name__)

# The query arguments a business page's review list and the search read: one per field of
# their forms.
LIST_ARGUMENTS = tuple(field.name for field in ReviewListForm())
SEARCH_TERMS = tuple(field.name for field in SearchForm())


@bp.route("/")
def home():
    return render_template("public/home.html", form=SearchForm(request.args), recent=businesses.recent())


@bp.route("/businesses")
def search():
    number = request.args.get("page", 1, type=int)
    # As on a business page, the arguments as typed key the page and the form reads them only on
    # a render: a cached page was rendered from arguments the form accepted, and those it refuses
    # give 400, which is never stored. Terms with control characters never reach the database
    # (PostgreSQL refuses a NUL): the render says what is wrong with them.
    typed = {name: request.args.get(name, "") for name in SEARCH_TERMS}

    def results(fetch) -> paging.Window | None:
        return paging.fetch(lambda limit, offset: fetch(**typed, limit=limit, offset=offset), page=number)

    def parts() -> tuple | None:
        if any(CONTROL_CHARACTERS.search(value) for value in typed.values()):
            return None
        found = results(businesses.search_stamps)
        return None if found is None else (tuple(typed.values()), found.page, found.has_next, tuple(found.items))

    def render() -> str:
        form = SearchForm(request.args)
        if not form.validate():
            abort(make_response(render_template("public/search.html", form=form, page=None), 400))
        return render_template("public/search.html", form=form, page=results(businesses.search) or abort(404))

    return caching.public_page(parts, render)


@bp.route("/b/<slug>")
def business(slug: str):
    number = request.args.get("page", 1, type=int)
    now = now_utc()
    # What the page shows besides the code: the business's stamp, the page, the order and
    # filters as typed (the form reads them only on a render: a cached page needs no form, and
    # arguments it refuses give 400, which is never stored), and the first day of the record's
    # 12 months (it moves once a day).
    return caching.public_page(
        lambda: (listings.stamp(slug, now=now) or abort(404), number,
                 tuple(request.args.get(name, "") for name in LIST_ARGUMENTS), record.period_start(now)),
        lambda: _business_page(slug, number, now))


def _business_page(slug: str, number: int, now: datetime) -> str:
    form = ReviewListForm(request.args)
    if not form.validate():
        errors = " ".join(error for errors in form.errors.values() for error in errors)
        abort(400, description=f"We cannot show the reviews that way. {errors}")
    found, removed = public_moderation.with_removal(slug) or abort(404)
    if removed:  # 410 Gone, with the public line; never stored by the page cache
        removal = public_moderation.listing_removal(found.id)
        abort(make_response(render_template("moderation/listing_removed.html", business=found, removal=removal), 410))
    terms = form.terms()
    held = listings.held_summary(found, now=now)
    bars = listings.histogram(found, now=now)
    # The histogram counts what the pager would: reviews that read as published, per star.
    shown = [bar for bar in bars if terms["stars"] in (None, bar.stars)]
    total = sum(bar.through_window if terms["window"] else bar.public for bar in shown)
    page = paging.fetch(
        lambda limit, offset: listings.public_reviews(found, now=now, limit=limit, offset=offset, sort=terms["sort"],
                                                      stars=terms["stars"], through_window=terms["window"]),
        page=number, total=total,
    ) or abort(404)
    return render_template(
        "public/business.html", business=found, held=held, page=page, bars=bars, form=form, args=form.args(),
        offers=listings.accepted_offers(review.id for review in page.items if review.was_held),
        record=record.record(found.id, now=now), role=access.role_of(current_user, found),
        own_review=inbox.review_by(current_user, found), policy=window_policy(),
        formerly=listing_details.formerly(found),
        # A notice on the business and the lines left by removals (services/public_moderation.py).
        moderation=public_moderation.for_business(found, now=now),
    )


@bp.route("/how-reviews-work")
def how_reviews_work():
    """What the site does with a review, in the mode it runs in (HOLD_POLICY and the window's
    settings): the same for everyone, so cached like the other public pages."""
    policy = window_policy()
    return caching.public_page(
        lambda: (policy, current_app.config["APPEAL_WINDOW_SECONDS"]),
        lambda: render_template("public/how_reviews_work.html", policy=policy))
