"""Writing a review and everything either party does during and after the window.

Every private page and action asks ``access`` first and answers 404 to anyone else, so a held
review's words and thread never reach another business, another customer or the public.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from reviewsite import limits
from reviewsite.auth.forms import EmptyForm
from reviewsite.clock import format_when, now_utc
from reviewsite.extensions import db
from reviewsite.forms import Form
from reviewsite.models import (
    Business,
    RemedyKind,
    Review,
    ReviewStatus,
    Side,
    ThreadMessage,
)
from reviewsite.reviews.forms import (
    REMEDY_LABELS,
    ConfirmForm,
    ExtendForm,
    MessageForm,
    NewReviewForm,
    OfferForm,
    ResolveForm,
    ResponseForm,
    ReviewForm,
)
from reviewsite.services import (
    access,
    inbox,
    listings,
    public_moderation,
    publication,
    resolution,
    reviews,
    thread,
)
from reviewsite.services import reports as moderation_reports
from reviewsite.services.conditions import ConditionLanguage
from reviewsite.services.window import window_policy
from reviewsite.text import isolate
from reviewsite.web import attempt, form_status

bp = Blueprint("reviews", __name__)


def _business_or_404(slug: str) -> Business:
    business, removed = public_moderation.with_removal(slug) or abort(404)
    if removed:
        abort(410, description="Moderators removed this listing, so it takes no new reviews.")
    return business


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
    # One review per business: lead to it, before any typing. A POST needs no look-up (the
    # database refuses a second review); only the form shown again with errors names it.
    mine = inbox.review_by(current_user, business) if request.method == "GET" else None
    if mine is not None:
        flash(f"You have already reviewed {isolate(business.name)}. Here is your review; you can change it here.", "info")
        return redirect(url_for("reviews.show", review_id=mine.id))
    policy = window_policy()
    form = NewReviewForm.for_policy(policy, business.name)
    if form.validate_on_submit():
        # Read before the commit expires the rows: saves a query of each after it.
        name, time_zone = isolate(business.name), current_user.time_zone
        choice = form.choice.data if policy.reviewer_chooses else None

        def submit() -> tuple[int, datetime | None]:
            review = reviews.submit_review(current_user, business, stars=form.stars.data,
                                           title=form.title.data, body=form.body.data, now=now_utc(),
                                           choice=choice)
            # Read before the commit expires the row: saves two queries after it.
            return review.id, review.publish_at if review.status is ReviewStatus.HELD else None

        ok, submitted = attempt(submit, form)
        if ok and submitted is not None:
            review_id, held_until = submitted
            if held_until is not None:
                flash(f"Thank you. {name} hears it privately first and can make it right; "
                      f"your review is published on {format_when(held_until, time_zone)} "
                      f"whatever happens.", "success")
            else:
                flash("Thank you. Your review is published.", "success")
            return redirect(url_for("reviews.show", review_id=review_id))
    if request.method == "POST":  # shown again with errors: lead to their review, if they wrote one
        mine = inbox.review_by(current_user, business)
    return render_template("reviews/new.html", form=form, business=business, policy=policy,
                           own_review=mine), form_status(form)


def _private_page(review: Review, status: int = 200, **forms: Form):
    """The parties' page. Forms not being submitted are built without request data, so a
    failed POST shows only its own form's errors, with what the person typed kept."""
    context: dict[str, Form] = {
        "message_form": MessageForm(formdata=None),
        "response_form": ResponseForm(formdata=None, body=review.response_body),
        "extend_form": ExtendForm(formdata=None),
        "action_form": EmptyForm(formdata=None),
        "offer_form": OfferForm(formdata=None),
        "resolve_form": ResolveForm(formdata=None),
    }
    context.update(forms)
    return render_template(
        "reviews/private.html", review=review, side=access.side_of(current_user, review),
        policy=window_policy(), extension_left=reviews.extension_left(review),
        remedy_labels=REMEDY_LABELS, marks=moderation_reports.thread_marks(review, current_user),
        accepted_offers=listings.accepted_offers([review.id]).get(review.id, []),
        **context), status


@bp.route("/reviews/<int:review_id>")
def show(review_id: int):
    review = db.session.get(Review, review_id) or abort(404)
    if access.can_see_private(current_user, review):
        return _private_page(review)
    if review.status in (ReviewStatus.PUBLISHED, ReviewStatus.REMOVED) or review.window_ended(now_utc()):
        return render_template("reviews/public.html", review=review,
                               offers=listings.accepted_offers([review.id]).get(review.id, []))
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


def _warned(form: Form, send: Callable[[], object]) -> object:
    """Condition language refused: the form offers "Send anyway" next to the text kept for editing."""
    try:
        return send()
    except ConditionLanguage:
        form.condition_warning = True
        raise


@bp.route("/reviews/<int:review_id>/messages", methods=["POST"])
@login_required
@limits.limited(*limits.MESSAGE)
def post_message(review_id: int):
    return _submit(review_id, "message_form", MessageForm,
                   lambda review, form: _warned(form, lambda: thread.reply(
                       review, current_user, form.body.data, now=now_utc(), send_anyway=form.send_anyway.data)),
                   "Message sent.")


@bp.route("/reviews/<int:review_id>/offers", methods=["POST"])
@login_required
@limits.limited(*limits.OFFER)
def make_offer(review_id: int):
    return _submit(review_id, "offer_form", OfferForm,
                   lambda review, form: _warned(form, lambda: thread.offer_remedy(
                       review, current_user, RemedyKind(form.remedy.data), form.note.data, now=now_utc(),
                       send_anyway=form.send_anyway.data)),
                   "Offer sent.")


def _on_offer(review_id: int, message_id: int, service: Callable[..., None], done: str):
    """The reviewer's step on one offer of their review (accept it, say it was delivered)."""
    review = _private_review_or_404(review_id)
    message = db.session.get(ThreadMessage, message_id)
    if message is None or message.review_id != review.id:
        abort(404)
    ok, _ = attempt(lambda: service(message, current_user, now=now_utc()))
    return _after_action(review, done, ok)


@bp.route("/reviews/<int:review_id>/offers/<int:message_id>/accept", methods=["POST"])
@login_required
def accept_offer(review_id: int, message_id: int):
    return _on_offer(review_id, message_id, thread.accept_offer, "You accepted the offer. The business has been told.")


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
                   "You gave the business more time. Your review stays private until its new date.")


def _after_action(review: Review, message: str, ok: bool):
    if ok:
        flash(message, "success")
    return redirect(url_for("reviews.show", review_id=review.id))


def _confirmed(review: Review, *sides: Side) -> bool:
    """Publishing now and withdrawing cannot be undone: the first click (GET, or a POST without
    the confirmation page's field) shows what will happen; only the confirmation page's button
    acts. Someone without the power gets a 404, as for any private action."""
    if access.side_of(current_user, review) not in sides:
        abort(404)
    return request.method == "POST" and ConfirmForm().validate_on_submit()


def _confirmation_page(review: Review, what: str):
    return render_template("reviews/confirm.html", review=review, what=what, side=access.side_of(current_user, review),
                           form=ConfirmForm(formdata=None, confirm="yes"))


@bp.route("/reviews/<int:review_id>/release", methods=["GET", "POST"])
@login_required
def release(review_id: int):
    review = _private_review_or_404(review_id)
    if not _confirmed(review, Side.REVIEWER, Side.BUSINESS):
        return _confirmation_page(review, "release")
    ok, _ = attempt(lambda: publication.release_now(review, current_user, now=now_utc()))
    return _after_action(review, "The review is now public.", ok)


@bp.route("/reviews/<int:review_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(review_id: int):
    review = _private_review_or_404(review_id)
    if not _confirmed(review, Side.REVIEWER):
        return _confirmation_page(review, "withdraw")
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


@bp.route("/reviews/<int:review_id>/resolve", methods=["POST"])
@login_required
def resolve(review_id: int):
    return _submit(review_id, "resolve_form", ResolveForm,
                   lambda review, form: resolution.resolve(review, current_user, note=form.note.data, now=now_utc()),
                   "You marked the complaint resolved. It shows in the review's history.")


@bp.route("/reviews/<int:review_id>/offers/<int:message_id>/done", methods=["POST"])
@login_required
def offer_done(review_id: int, message_id: int):
    return _on_offer(review_id, message_id, resolution.confirm_delivered,
                     "You confirmed the offer was delivered. The business has been told.")
