from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from reviewsite.extensions import db
from reviewsite.public.forms import SearchForm
from reviewsite.services import access, businesses, listings

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
    page = db.paginate(query, per_page=PER_PAGE, error_out=False, count=True)
    return render_template("public/search.html", form=form, page=page)


@bp.route("/b/<slug>")
def business(slug: str):
    found = businesses.by_slug(slug) or abort(404)
    held = listings.held_summary(found)
    page = db.paginate(listings.published_reviews_query(found), per_page=PER_PAGE, error_out=False, count=False)
    # Held and published reviews are exactly the ones the kept rating counts: no COUNT query.
    page.total = found.rating_count - held.total
    return render_template(
        "public/business.html",
        business=found,
        held=held,
        page=page,
        record=listings.record(found),
        is_member=access.is_member(current_user, found),
    )
