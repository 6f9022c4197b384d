"""The development mailbox: registered only while no SMTP server is configured (never in
production), so the whole loop, confirmation links included, can be followed on a laptop."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from reviewsite.services import dev_mailbox

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.route("/mailbox")
def mailbox():
    return render_template("dev/mailbox.html", mails=dev_mailbox.recent())


@bp.route("/mailbox/<int:mail_id>")
def mail(mail_id: int):
    found = dev_mailbox.get(mail_id) or abort(404)
    return render_template("dev/mail.html", mail=found)
