from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from reviewsite import limits
from reviewsite.business.forms import BusinessForm
from reviewsite.clock import now_utc
from reviewsite.services import businesses, inbox
from reviewsite.text import isolate
from reviewsite.web import attempt, form_status

bp = Blueprint("business", __name__)


@bp.route("/businesses/new", methods=["GET", "POST"])
@login_required
@limits.limited(*limits.LISTING)
def create():
    form = BusinessForm()
    if form.validate_on_submit():
        ok, created = attempt(
            lambda: businesses.create_business(
                current_user, name=form.name.data, category=form.category.data, city=form.city.data,
                address=form.address.data, description=form.description.data or "", now=now_utc()),
            form,
        )
        if ok:
            flash(f"{isolate(created.name)} is listed. You are its owner.", "success")
            return redirect(url_for("public.business", slug=created.slug))
    return render_template("business/new.html", form=form), form_status(form)


@bp.route("/inbox")
@login_required
def held_inbox():
    return render_template(
        "business/inbox.html",
        businesses=businesses.businesses_of(current_user),
        held=inbox.held_for_member(current_user),
        recent=inbox.recent_for_member(current_user),
    )
