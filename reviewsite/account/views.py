from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from reviewsite.account.forms import preferences_form
from reviewsite.auth.forms import EmptyForm
from reviewsite.clock import now_utc
from reviewsite.extensions import csrf
from reviewsite.models import Delivery
from reviewsite.services.notification_kinds import TOPICS, summary_for
from reviewsite.services import inbox, notification_centre, preferences, tokens
from reviewsite.web import attempt, form_status

bp = Blueprint("account", __name__)


@bp.route("/me/reviews")
@login_required
def my_reviews():
    return render_template("account/reviews.html", reviews=inbox.reviews_by_author(current_user))


@bp.route("/notifications")
@login_required
def notifications():
    rows = notification_centre.recent_for(current_user)
    return render_template("account/notifications.html", rows=[(row, summary_for(row)) for row in rows],
                           form=EmptyForm())


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@login_required
def open_notification(notification_id: int):
    ok, target = attempt(lambda: notification_centre.mark_read(current_user, notification_id, now=now_utc()))
    if ok and target is not None and "decision_id" in (target.facts or {}):  # a statement of reasons
        return redirect(url_for("moderation.decision", decision_id=target.facts["decision_id"]))
    if ok and target is not None and target.review_id is not None:
        return redirect(url_for("reviews.show", review_id=target.review_id))
    if ok and target is not None and target.kind.startswith("claim_"):  # the claimant's own claim
        return redirect(url_for("claims.show", claim_id=target.facts["claim"]))
    return redirect(url_for("account.notifications"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all():
    attempt(lambda: notification_centre.mark_all_read(current_user, now=now_utc()))
    return redirect(url_for("account.notifications"))


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def settings():
    form = preferences_form(preferences.choices_of(current_user))
    if form.validate_on_submit():
        def save() -> None:
            for topic in TOPICS:
                preferences.choose(current_user.id, topic, Delivery(form[topic].data), now=now_utc())

        ok, _ = attempt(save, form)
        if ok:
            flash("Your notification choices are saved.", "success")
            return redirect(url_for("account.settings"))
    return render_template("account/settings.html", form=form, topics=TOPICS), form_status(form)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click POSTs come from mail clients; the signed token is the proof
def unsubscribe(token: str):
    """Works without logging in, and only for the person the email was sent to (the token
    names them). GET only shows a button, so link scanners cannot unsubscribe anyone."""
    try:
        user, topic = tokens.read_unsubscribe_token(token)
    except tokens.TokenError as error:
        return render_template("auth/message.html", title="Cannot unsubscribe", message=str(error)), 400
    label = TOPICS[topic].label if topic in TOPICS else "Daily digest"
    if request.method == "POST":
        attempt(lambda: preferences.unsubscribe(user.id, topic, now=now_utc()))
        return render_template("account/unsubscribed.html", label=label, done=True)
    return render_template("account/unsubscribed.html", label=label, done=False, token=token)
