from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from reviewsite.auth.forms import EmptyForm
from reviewsite.clock import now_utc
from reviewsite.extensions import db
from reviewsite.models import Notification
from reviewsite.notifications.catalogue import summary_for
from reviewsite.services import inbox, notices
from reviewsite.web import attempt

bp = Blueprint("account", __name__)


@bp.route("/me/reviews")
@login_required
def my_reviews():
    return render_template("account/reviews.html", reviews=inbox.reviews_by_author(current_user))


@bp.route("/notifications")
@login_required
def notifications():
    rows = db.session.scalars(
        select(Notification).where(Notification.recipient_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(100)
    ).all()
    return render_template("account/notifications.html", rows=rows, summary_for=summary_for, form=EmptyForm())


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@login_required
def open_notification(notification_id: int):
    ok, target = attempt(lambda: notices.mark_read(current_user, notification_id, now=now_utc()))
    if ok and target is not None and target.review_id is not None:
        return redirect(url_for("reviews.show", review_id=target.review_id))
    return redirect(url_for("account.notifications"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all():
    attempt(lambda: notices.mark_all_read(current_user, now=now_utc()))
    return redirect(url_for("account.notifications"))
