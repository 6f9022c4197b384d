"""Writing a review and everything either party does during and after the window.

Every private page and action asks ``access`` first and answers 404 to anyone else, so a held
review's words and thread never reach another business, another customer or the public.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from reviewsite.auth.forms import EmptyForm
from reviewsite.clock import now_utc
from reviewsite.extensions import db
from reviewsite.models import Business, Review, ReviewStatus, Side
from reviewsite.reviews.forms import ExtendForm, MessageForm, ResponseForm, ReviewForm
from reviewsite.services import access, reviews
from reviewsite.services.settings import window_policy
from reviewsite.web import attempt, form_status

bp = Blueprint("reviews", __name__)


def _business_or_404(slug: str) -> Business:
    return db.session.scalar(select(Business).where(Business.slug == slug)) or abort(404)


def _private_review_or_404(review_id: int) -> Review:
    review = db.session.get(Review, review_id)
    if review is None or not access.can_see_private(current_user, review):
        abort(404)
    return review


@bp.route("/b/<slug>/review", methods=["GET", "POST"])
@login_required
def new(slug: str):
    business = _business_or_404(slug)
    form = ReviewForm()
    if form.validate_on_submit():
        ok, review = attempt(
            lambda: reviews.submit_review(current_user, business, stars=form.stars.data,
                                          title=form.title.data, body=form.body.data, now=now_utc()),
            form,
        )
        if ok:
            if review.status is ReviewStatus.HELD:
                flash(f"Thank you. {business.name} hears it privately first and can make it right; "
                      f"your review is published on {review.publish_at:%d %b %Y at %H:%M} UTC whatever happens.",
                      "success")
            else:
                flash("Thank you. Your review is published.", "success")
            return redirect(url_for("reviews.show", review_id=review.id))
    return render_template("reviews/new.html", form=form, business=business,
                           policy=window_policy()), form_status(form)


@bp.route("/reviews/<int:review_id>")
def show(review_id: int):
    review = db.session.get(Review, review_id) or abort(404)
    if access.can_see_private(current_user, review):
        side = access.side_of(current_user, review)
        return render_template(
            "reviews/private.html", review=review, side=side, policy=window_policy(),
            extension_left=reviews.extension_left(review),
            message_form=MessageForm(), response_form=ResponseForm(body=review.response_body),
            extend_form=ExtendForm(), action_form=EmptyForm())
    if review.status in (ReviewStatus.PUBLISHED, ReviewStatus.REMOVED):
        return render_template("reviews/public.html", review=review)
    abort(404)


def _after_action(review: Review, message: str | None, ok: bool):
    if ok and message:
        flash(message, "success")
    return redirect(url_for("reviews.show", review_id=review.id))


@bp.route("/reviews/<int:review_id>/messages", methods=["POST"])
@login_required
def post_message(review_id: int):
    review = _private_review_or_404(review_id)
    form = MessageForm()
    if not form.validate_on_submit():
        flash("Write a message (at most 3000 characters).", "error")
        return redirect(url_for("reviews.show", review_id=review.id))
    ok, _ = attempt(lambda: reviews.reply(review, current_user, form.body.data, now=now_utc()))
    return _after_action(review, "Message sent.", ok)


@bp.route("/reviews/<int:review_id>/response", methods=["POST"])
@login_required
def save_response(review_id: int):
    review = _private_review_or_404(review_id)
    form = ResponseForm()
    if not form.validate_on_submit():
        flash("The response can be at most 3000 characters.", "error")
        return redirect(url_for("reviews.show", review_id=review.id))
    ok, _ = attempt(lambda: reviews.save_response(review, current_user, form.body.data or "", now=now_utc()))
    note = "Response saved. It is shown with the review once the review is public." if review.is_held else "Response saved."
    return _after_action(review, note, ok)


@bp.route("/reviews/<int:review_id>/extend", methods=["POST"])
@login_required
def extend(review_id: int):
    review = _private_review_or_404(review_id)
    form = ExtendForm()
    if not form.validate_on_submit():
        flash("Choose how much more time to give.", "error")
        return redirect(url_for("reviews.show", review_id=review.id))
    ok, _ = attempt(lambda: reviews.extend_window(review, current_user, hours=form.hours.data, now=now_utc()))
    return _after_action(review, "The business has more time.", ok)


@bp.route("/reviews/<int:review_id>/release", methods=["POST"])
@login_required
def release(review_id: int):
    review = _private_review_or_404(review_id)
    ok, _ = attempt(lambda: reviews.release_now(review, current_user, now=now_utc()))
    return _after_action(review, "The review is now public.", ok)


@bp.route("/reviews/<int:review_id>/withdraw", methods=["POST"])
@login_required
def withdraw(review_id: int):
    review = _private_review_or_404(review_id)
    ok, _ = attempt(lambda: reviews.withdraw(review, current_user, now=now_utc()))
    if ok:
        flash("Your review is withdrawn.", "success")
        return redirect(url_for("account.my_reviews"))
    return redirect(url_for("reviews.show", review_id=review.id))


@bp.route("/reviews/<int:review_id>/edit", methods=["GET", "POST"])
@login_required
def revise(review_id: int):
    review = _private_review_or_404(review_id)
    if access.side_of(current_user, review) is not Side.REVIEWER:
        abort(404)
    form = ReviewForm(obj=review)
    if form.validate_on_submit():
        ok, _ = attempt(lambda: reviews.revise(review, current_user, stars=form.stars.data,
                                               title=form.title.data, body=form.body.data, now=now_utc()),
                        form)
        if ok:
            return _after_action(review, "Your review is updated.", ok)
    return render_template("reviews/edit.html", form=form, review=review,
                           policy=window_policy()), form_status(form)
