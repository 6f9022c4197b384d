from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from reviewsite import limits
from reviewsite.business.forms import BusinessForm
from reviewsite.clock import now_utc
from reviewsite.services import businesses, claims, inbox
from reviewsite.text import isolate
from reviewsite.web import attempt, form_status

bp = Blueprint("business", __name__)


@bp.route("/businesses/new", methods=["GET", "POST"])
@login_required
@limits.limited(*limits.LISTING)
def create():
    form = BusinessForm()
    duplicates: list = []
    if form.validate_on_submit():
        def create_listing():
            try:
                created = businesses.create_business(
                    current_user, name=form.name.data, category=form.category.data, city=form.city.data,
                    address=form.address.data, description=form.description.data or "",
                    website=form.website.data, contact_email=form.contact_email.data,
                    despite_duplicates=form.despite_duplicates.data, now=now_utc())
            except businesses.LikelyDuplicates as error:
                duplicates.extend(error.matches)  # shown as "is it one of these?"
                raise
            return created.name, created.slug

        ok, created = attempt(create_listing, form)
        if ok:
            name, slug = created
            flash(f"{isolate(name)} is listed. If you run it, claim it to see and answer its reviews privately.", "success")
            return redirect(url_for("public.business", slug=slug))
    # Likely duplicates are a question ("is it one of these?"), not a refusal: 200.
    return render_template("business/new.html", form=form, duplicates=duplicates), \
        200 if duplicates else form_status(form)


@bp.route("/inbox")
@login_required
def held_inbox():
    return render_template(
        "business/inbox.html",
        businesses=businesses.businesses_of(current_user),
        held=inbox.held_for_member(current_user),
        recent=inbox.recent_for_member(current_user),
        claims=claims.claims_of(current_user),
        roles=inbox.roles_of(current_user),
        now=now_utc(),
    )
