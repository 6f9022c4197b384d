from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from reviewsite.account.forms import TimeZoneForm, preferences_form, time_zone_choices
from reviewsite.auth.forms import EmptyForm
from reviewsite.clock import now_utc
from reviewsite.extensions import csrf
from reviewsite.models import Delivery
from reviewsite.services.notification_kinds import TOPICS, summary_for, topics_for
from reviewsite.services import accounts, inbox, notification_centre, preferences, tokens
from reviewsite.templating import acts_for_business
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
    if ok and target is not None and target.kind == "confirm_email":  # where the address stands
        return redirect(url_for("auth.confirmation"))
    return redirect(url_for("account.notifications"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all():
    attempt(lambda: notification_centre.mark_all_read(current_user, now=now_utc()))
    return redirect(url_for("account.notifications"))


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def settings():
    # A customer is never asked about mail only businesses get.
    topics = topics_for(acts_for_business())
    form = preferences_form(preferences.choices_of(current_user), topics)
    if form.validate_on_submit():
        def save() -> None:
            for topic in topics:
                preferences.choose(current_user.id, topic, Delivery(form[topic].data), now=now_utc())

        ok, _ = attempt(save, form)
        if ok:
            flash("Your notification choices are saved.", "success")
            return redirect(url_for("account.settings"))
    return render_template("account/settings.html", form=form, topics=topics), form_status(form)


@bp.route("/settings/time-zone", methods=["GET", "POST"])
@login_required
def time_zone():
    form = TimeZoneForm(time_zone=current_user.time_zone or "")
    form.time_zone.choices = time_zone_choices()
    if form.validate_on_submit():
        ok, _ = attempt(lambda: accounts.set_time_zone(current_user, form.time_zone.data, now=now_utc()), form)
        if ok:
            flash("Dates are now shown in " + (form.time_zone.data or "your browser’s time zone") + ".", "success")
            return redirect(url_for("account.time_zone"))
    return render_template("account/time_zone.html", form=form), form_status(form)


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
