from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from reviewsite.public import fragments, paging
from reviewsite.public.forms import SearchForm
from reviewsite.services import access, businesses

bp = Blueprint("public", __name__)

PER_PAGE = 20


@bp.route("/")
def home():
    return render_template("public/home.html", form=SearchForm(request.args), recent=businesses.recent())


@bp.route("/businesses")
def search():
    form = SearchForm(request.args)
    if not form.validate():
        return render_template("public/search.html", form=form, page=None), 400
    query = businesses.search_query(q=form.q.data or "", category=form.category.data or "", city=form.city.data or "")
    # One row more than a page instead of a COUNT: the page says "more" rather than a total.
    page = paging.fetch(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE) or abort(404)
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
