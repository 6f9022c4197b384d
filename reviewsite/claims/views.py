"""Claims: the claimant's pages, the one-time link, and the moderators' decisions.

A claim is private to its claimant (and moderators decide it at /moderation/claims): anyone else
gets a 404, as for any private object. Link pages answer a clear 4xx page for a broken, foreign,
used or expired link, never a 500."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from reviewsite import limits
from reviewsite.auth.forms import EmptyForm
from reviewsite.claims.forms import ClaimForm, DecisionForm
from reviewsite.clock import now_utc
from reviewsite.extensions import db
from reviewsite.models import BusinessClaim, ClaimStatus
from reviewsite.services import access, businesses, claims, tokens
from reviewsite.text import isolate
from reviewsite.web import attempt, form_status

bp = Blueprint("claims", __name__)



def _own_claim_or_404(claim_id: int) -> BusinessClaim:
    claim = db.session.get(BusinessClaim, claim_id)
    if claim is None or claim.claimant_id != current_user.id:
        abort(404)
    return claim


@bp.route("/b/<slug>/claim", methods=["GET", "POST"])
@login_required
@limits.limited(*limits.MAIL_TO_AN_ADDRESS)
def start(slug: str):
    business = businesses.by_slug(slug) or abort(404)
    if access.is_member(current_user, business):
        return render_template("claims/start.html", business=business, member=True, form=None)
    options = claims.options_for(business, current_user)
    form = ClaimForm.for_options(options)
    if form.validate_on_submit():
        ok, claim_id = attempt(lambda: claims.start(
            business, current_user, method=form.method.data, email=form.email.data,
            statement=form.statement.data, now=now_utc()).id, form)
        if ok:
            return redirect(url_for("claims.show", claim_id=claim_id))
    return render_template("claims/start.html", business=business, member=False, form=form,
                           options=options), form_status(form)


@bp.route("/claims")
@login_required
def mine():
    return render_template("claims/mine.html", claims=claims.claims_of(current_user), now=now_utc())


@bp.route("/claims/<int:claim_id>")
@login_required
def show(claim_id: int):
    claim = _own_claim_or_404(claim_id)
    return render_template("claims/show.html", claim=claim, status=claim.status_at(now_utc()), form=EmptyForm())


def _claimant_action(claim_id: int, action, success: str):
    """A button on the claimant's own claim: one service call, a note, back to the claim."""
    claim = _own_claim_or_404(claim_id)
    ok, _ = attempt(lambda: action(claim, current_user, now=now_utc()))
    if ok:
        flash(success, "success")
    return redirect(url_for("claims.show", claim_id=claim_id))


@bp.route("/claims/<int:claim_id>/resend", methods=["POST"])
@login_required
@limits.limited(*limits.MAIL_TO_AN_ADDRESS)
def resend(claim_id: int):
    return _claimant_action(claim_id, claims.resend_link, "We sent the link again.")


@bp.route("/claims/<int:claim_id>/withdraw", methods=["POST"])
@login_required
def withdraw(claim_id: int):
    return _claimant_action(claim_id, claims.withdraw, "Your claim is withdrawn.")


def _link_refused(title: str, message: str, status: int):
    return render_template("auth/message.html", title=title, message=message), status


@bp.route("/claims/verify/<token>", methods=["GET", "POST"])
@login_required
def verify(token: str):
    """GET shows what the link would do and a button; only the POST verifies (a mail scanner
    that opens links must not claim a business for anyone)."""
    try:
        claim_id, email = tokens.read_claim_token(token)
    except tokens.TokenError as error:
        return _link_refused("Cannot confirm the claim", str(error), 400)
    claim = db.session.get(BusinessClaim, claim_id)
    if claim is None or claim.email != email:
        return _link_refused("Cannot confirm the claim", "This link is not valid.", 400)
    if claim.claimant_id != current_user.id:
        return _link_refused("Cannot confirm the claim", "This link was sent for a claim made by another "
                             "account. Log in as the person who made the claim and open the link again.", 403)
    status = claim.status_at(now_utc())
    if status is not ClaimStatus.PENDING:
        return _link_refused("Cannot confirm the claim", claims.CLAIMS.by_state[status], 410)
    form = EmptyForm()
    if form.validate_on_submit():
        business_name = isolate(claim.business.name)
        ok, _ = attempt(lambda: claims.verify_by_link(claim, current_user, email=email, now=now_utc()), form)
        if ok:
            flash(f"Confirmed: you are an owner of {business_name}. Its reviews in their make-it-right "
                  "window are in your inbox.", "success")
            return redirect(url_for("business.held_inbox"))
        return _link_refused("Cannot confirm the claim", " ".join(form.form_errors), 410)
    return render_template("claims/verify.html", claim=claim, form=form)


# -- the moderators' side -------------------------------------------------------------------------


def _moderator_or_404() -> None:
    if not current_user.is_moderator:
        abort(404)


@bp.route("/moderation/claims")
@login_required
def queue():
    _moderator_or_404()
    return render_template("claims/queue.html", claims=claims.pending_for_moderators())


@bp.route("/moderation/claims/<int:claim_id>", methods=["GET", "POST"])
@login_required
def decide(claim_id: int):
    _moderator_or_404()
    claim = db.session.get(BusinessClaim, claim_id) or abort(404)
    form = DecisionForm()
    if form.validate_on_submit():
        decide_with = claims.approve if form.decision.data == "approve" else claims.reject
        ok, _ = attempt(lambda: decide_with(claim, current_user, reason=form.reason.data, now=now_utc()), form)
        if ok:
            flash("Decided. The claimant has been told.", "success")
            return redirect(url_for("claims.queue"))
    return render_template("claims/decide.html", claim=claim, status=claim.status_at(now_utc()), form=form,
                           others=claims.other_claims(claim)), form_status(form)
