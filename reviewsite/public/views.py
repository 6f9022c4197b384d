from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from reviewsite.public import fragments, page_cache, paging
from reviewsite.public.forms import FIELDS, SearchForm, search_terms
from reviewsite.services import access, businesses, listing_details
from reviewsite.unit_of_work import each_statement_commits

bp = Blueprint("public", __name__)

PER_PAGE = 20

# These pages only read, so each view starts with each_statement_commits(): on PostgreSQL their
# statements run in autocommit, which saves the BEGIN and ROLLBACK round trips around every page
# view. In the views, not before the request: a page served whole from the cache never opens the
# session's connection.


@bp.route("/")
def home():
    each_statement_commits()
    return render_template("public/home.html", form=SearchForm(request.args), recent=businesses.recent())


@bp.route("/businesses")
def search():
    typed = tuple(request.args.get(name, "") for name in FIELDS)
    terms = search_terms(*typed)
    if terms is None:
        form = SearchForm(request.args)
        form.validate()  # for its messages
        each_statement_commits()
        return render_template("public/search.html", form=form, page=None), 400
    number = request.args.get("page", 1, type=int)
    if page_cache.shared_with_everyone():
        # Whole, keyed on what it shows: the arguments as typed (the form and the pager repeat
        # them) and the stamp of each business found, for visitors not signed in.
        found = _results(businesses.search_stamps, terms, number)
        return page_cache.page(
            (typed, found.page, found.has_next, tuple(found.items)), lambda: _search_page(terms, number)
        )
    return _search_page(terms, number)


def _results(fetch, terms: Mapping[str, str], number: int) -> paging.Window:
    # One row more than a page instead of a COUNT: the page says "more" rather than a total.
    return paging.fetch(
        lambda limit, offset: fetch(**terms, limit=limit, offset=offset), page=number, per_page=PER_PAGE
    ) or abort(404)


def _search_page(terms: Mapping[str, str], number: int) -> str:
    each_statement_commits()
    page = _results(businesses.search, terms, number)
    return render_template("public/search.html", form=SearchForm(request.args), page=page)


@bp.route("/b/<slug>")
def business(slug: str):
    page = request.args.get("page", 1, type=int)
    if page_cache.shared_with_everyone():
        # Whole, keyed on the business's stamp (one small read), for visitors not signed in.
        stamp = businesses.stamp_by_slug(slug) or abort(404)
        return page_cache.page((stamp, page), lambda: _business_page(slug, page))
    return _business_page(slug, page)


def _business_page(slug: str, page: int) -> str:
    each_statement_commits()
    found = businesses.by_slug(slug) or abort(404)
    return render_template(
        "public/business.html",
        business=found,
        # The part every visitor sees alike, cached per listing_version (see fragments.py).
        listing=fragments.business_listing(found, page),
        role=access.role_of(current_user, found),
        formerly=listing_details.formerly(found),
    )
