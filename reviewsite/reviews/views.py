"""Writing a review and everything either party does during and after the window.

Every private page and action asks ``access`` first and answers 404 to anyone else, so a held
review's words and thread never reach another business, another customer or the public.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from reviewsite import limits

from reviewsite.auth.forms import EmptyForm
from reviewsite.clock import now_utc
from reviewsite.extensions import db
from reviewsite.forms import Form
from reviewsite.models import Business, RemedyKind, Review, ReviewStatus, Side, ThreadMessage
from reviewsite.reviews.forms import (
    REMEDY_LABELS,
    ExtendForm,
    MessageForm,
    OfferForm,
    ResponseForm,
    ReviewForm,
)
from reviewsite.services import access, businesses, reviews, thread
from reviewsite.services.settings import window_policy
from reviewsite.text import isolate
from reviewsite.web import attempt, form_status

bp = Blueprint("reviews", __name__)


def _business_or_404(slug: str) -> Business:
    return businesses.by_slug(slug) or abort(404)


def _private_review_or_404(review_id: int) -> Review:
    review = db.session.get(Review, review_id)
    if review is None or not access.can_see_private(current_user, review):
        abort(404)
    return review


@bp.route("/b/<slug>/review", methods=["GET", "POST"])
@login_required
@limits.limited(*limits.REVIEW)
def new(slug: str):
    business = _business_or_404(slug)
    form = ReviewForm()
    if form.validate_on_submit():
        name = isolate(business.name)

        def submit() -> tuple[int, datetime | None]:
            review = reviews.submit_review(current_user, business, stars=form.stars.data,
                                           title=form.title.data, body=form.body.data, now=now_utc())
            # Read before the commit expires the row: saves two queries after it.
            return review.id, review.publish_at if review.status is ReviewStatus.HELD else None

        ok, submitted = attempt(submit, form)
        if ok and submitted is not None:
            review_id, held_until = submitted
            if held_until is not None:
                flash(f"Thank you. {name} hears it privately first and can make it right; "
                      f"your review is published on {held_until:%d %b %Y at %H:%M} UTC whatever happens.",
                      "success")
            else:
                flash("Thank you. Your review is published.", "success")
            return redirect(url_for("reviews.show", review_id=review_id))
    return render_template("reviews/new.html", form=form, business=business,
                           policy=window_policy()), form_status(form)


def _private_page(review: Review, status: int = 200, **forms: Form):
    """The parties' page. Forms not being submitted are built without request data, so a
    failed POST shows only its own form's errors, with what the person typed kept."""
    context: dict[str, Form] = {
        "message_form": MessageForm(formdata=None),
        "response_form": ResponseForm(formdata=None, body=review.response_body),
        "extend_form": ExtendForm(formdata=None),
        "action_form": EmptyForm(formdata=None),
        "offer_form": OfferForm(formdata=None),
    }
    context.update(forms)
    return render_template(
        "reviews/private.html", review=review, side=access.side_of(current_user, review),
        policy=window_policy(), extension_left=reviews.extension_left(review),
        remedy_labels=REMEDY_LABELS, **context), status


@bp.route("/reviews/<int:review_id>")
def show(review_id: int):
    review = db.session.get(Review, review_id) or abort(404)
    if access.can_see_private(current_user, review):
        return _private_page(review)
    if review.status in (ReviewStatus.PUBLISHED, ReviewStatus.REMOVED):
        return render_template("reviews/public.html", review=review)
    abort(404)


def _submit(review_id: int, form_name: str, form_class: type[Form],
            action: Callable[[Review, Form], object], success: str):
    """POST handler shared by the thread, response and extension forms: validate the shape,
    call one service, then redirect with a note or show the page again with the errors."""
    review = _private_review_or_404(review_id)
    form = form_class()
    if form.validate_on_submit():
        ok, _ = attempt(lambda: action(review, form), form)
        if ok:
            flash(success, "success")
            return redirect(url_for("reviews.show", review_id=review.id))
    return _private_page(review, 422, **{form_name: form})


@bp.route("/reviews/<int:review_id>/messages", methods=["POST"])
@login_required
@limits.limited(*limits.MESSAGE)
def post_message(review_id: int):
    return _submit(review_id, "message_form", MessageForm,
                   lambda review, form: thread.reply(review, current_user, form.body.data, now=now_utc()),
                   "Message sent.")


@bp.route("/reviews/<int:review_id>/offers", methods=["POST"])
@login_required
@limits.limited(*limits.OFFER)
def make_offer(review_id: int):
    return _submit(review_id, "offer_form", OfferForm,
                   lambda review, form: thread.offer_remedy(review, current_user, RemedyKind(form.remedy.data),
                                                            form.note.data, now=now_utc()),
                   "Offer sent.")


@bp.route("/reviews/<int:review_id>/offers/<int:message_id>/accept", methods=["POST"])
@login_required
def accept_offer(review_id: int, message_id: int):
    review = _private_review_or_404(review_id)
    message = db.session.get(ThreadMessage, message_id)
    if message is None or message.review_id != review.id:
        abort(404)
    ok, _ = attempt(lambda: thread.accept_offer(message, current_user, now=now_utc()))
    return _after_action(review, "You accepted the offer. The business has been told.", ok)


@bp.route("/reviews/<int:review_id>/response", methods=["POST"])
@login_required
def save_response(review_id: int):
    return _submit(review_id, "response_form", ResponseForm,
                   lambda review, form: reviews.save_response(review, current_user, form.body.data or "",
                                                              now=now_utc()),
                   "Response saved. It is shown with the review when the review is public.")


@bp.route("/reviews/<int:review_id>/extend", methods=["POST"])
@login_required
def extend(review_id: int):
    return _submit(review_id, "extend_form", ExtendForm,
                   lambda review, form: reviews.extend_window(review, current_user, hours=form.hours.data,
                                                              now=now_utc()),
                   "The business has more time.")


def _after_action(review: Review, message: str, ok: bool):
    if ok:
        flash(message, "success")
    return redirect(url_for("reviews.show", review_id=review.id))


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
@limits.limited(*limits.REVIEW)
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
