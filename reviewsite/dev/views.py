"""The development mailbox: registered only while no SMTP server is configured and only when
development mode was asked for (``REVIEWSITE_ENV=development``), so the whole loop, confirmation
links included, can be followed on a laptop. It holds every reset link, so it answers only to
requests from this machine (loopback); anyone else gets the 404 of a page that does not exist."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from reviewsite.security import is_loopback
from reviewsite.services import dev_mailbox

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.before_request
def loopback_only() -> None:
    if not is_loopback(request.remote_addr):
        abort(404)


@bp.route("/mailbox")
def mailbox():
    return render_template("dev/mailbox.html", mails=dev_mailbox.recent())


@bp.route("/mailbox/<int:mail_id>")
def mail(mail_id: int):
    found = dev_mailbox.get(mail_id) or abort(404)
    return render_template("dev/mail.html", mail=found)
