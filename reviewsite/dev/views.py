"""The development mailbox: registered only while no SMTP server is configured (never in
production), so the whole loop, confirmation links included, can be followed on a laptop."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import DevMail

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.route("/mailbox")
def mailbox():
    mails = db.session.scalars(select(DevMail).order_by(DevMail.id.desc()).limit(200)).all()
    return render_template("dev/mailbox.html", mails=mails)


@bp.route("/mailbox/<int:mail_id>")
def mail(mail_id: int):
    found = db.session.get(DevMail, mail_id) or abort(404)
    return render_template("dev/mail.html", mail=found)
