from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from reviewsite.public import fragments, paging
from reviewsite.public.forms import SearchForm
from reviewsite.services import access, businesses
from reviewsite.unit_of_work import each_statement_commits

bp = Blueprint("public", __name__)

PER_PAGE = 20


@bp.before_request
def read_without_transaction() -> None:
    """These pages only read, so on PostgreSQL their statements run in autocommit, which saves
    the BEGIN and ROLLBACK round trips around every page view: a third of a cached business
    page's time. Never for a request that may write: a unit of work must be able to roll back."""
    if request.method in ("GET", "HEAD"):
        each_statement_commits()


@bp.route("/")
def home():
    return render_template("public/home.html", form=SearchForm(request.args), recent=businesses.recent())


@bp.route("/businesses")
def search():
    form = SearchForm(request.args)
    if not form.validate():
        return render_template("public/search.html", form=form, page=None), 400
    terms = {"q": form.q.data or "", "category": form.category.data or "", "city": form.city.data or ""}
    # One row more than a page instead of a COUNT: the page says "more" rather than a total.
    page = paging.fetch(
        lambda limit, offset: businesses.search(**terms, limit=limit, offset=offset),
        page=request.args.get("page", 1, type=int),
        per_page=PER_PAGE,
    ) or abort(404)
    return render_template("public/search.html", form=form, page=page)


@bp.route("/b/<slug>")
def business(slug: str):
    found = businesses.by_slug(slug) or abort(404)
    page = request.args.get("page", 1, type=int)
    return render_template(
        "public/business.html",
        business=found,
        # The part every visitor sees alike, cached per listing_version (see fragments.py).
        listing=fragments.business_listing(found, page),
        is_member=access.is_member(current_user, found),
    )
