"""The team page and the listing's details, for owners; invitations, for whoever got one.

Only an owner of the business gets these pages (anyone else: 404, as for any private object);
a membership or invitation id of another business is a 404 too, and one that is gone (removed a
moment ago in another tab) is a clear message."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_login import current_user, login_required

from reviewsite import limits
from reviewsite.auth.forms import EmptyForm
from reviewsite.clock import now_utc
from reviewsite.extensions import db
from reviewsite.models import Business, Invitation, InvitationStatus
from reviewsite.services import access, businesses, listing_details, team, tokens
from reviewsite.team.forms import InviteForm, ListingForm, RoleForm
from reviewsite.text import isolate
from reviewsite.web import attempt, form_status

bp = Blueprint("team", __name__)



def _owned_business_or_404(slug: str) -> Business:
    business = businesses.by_slug(slug)
    if business is None or not access.is_owner(current_user, business):
        abort(404)
    return business


def _team_page(business: Business, status: int = 200, invite_form: InviteForm | None = None):
    return render_template(
        "team/page.html", business=business, members=team.members_of(business),
        invitations=team.pending_invitations(business, now=now_utc()),
        invite_form=invite_form or InviteForm(formdata=None), role_form=RoleForm(formdata=None),
        action_form=EmptyForm(formdata=None),
        invitation_days=max(current_app.config["INVITATION_MAX_AGE_SECONDS"] // 86400, 1)), status


@bp.route("/b/<slug>/team")
@login_required
def page(slug: str):
    return _team_page(_owned_business_or_404(slug))


@bp.route("/b/<slug>/team/invite", methods=["POST"])
@login_required
@limits.limited(*limits.MAIL_TO_AN_ADDRESS)
def invite(slug: str):
    business = _owned_business_or_404(slug)
    form = InviteForm()
    if form.validate_on_submit():
        email = form.email.data
        ok, _ = attempt(lambda: team.invite(business, current_user, email=email, role=form.role.data,
                                            now=now_utc()), form)
        if ok:
            flash(f"Invitation sent to {email}.", "success")
            return redirect(url_for("team.page", slug=slug))
    return _team_page(business, 422, invite_form=form)


def _member_action(slug: str, membership_id: int, action: Callable, success: str):
    business = _owned_business_or_404(slug)
    membership = team.member_of(business, membership_id)
    if membership is None:
        flash(team.GONE, "error")
        return redirect(url_for("team.page", slug=slug))
    form = RoleForm() if action is _change_role else EmptyForm()
    if not form.validate_on_submit():
        flash("Choose owner or staff.", "error")
        return redirect(url_for("team.page", slug=slug))
    name = isolate(membership.user.display_name)
    ok, _ = attempt(lambda: action(membership, form))
    if ok:
        flash(success.format(name=name), "success")
    if not access.is_member(current_user, business) or not access.is_owner(current_user, business):
        return redirect(url_for("business.held_inbox"))
    return redirect(url_for("team.page", slug=slug))


def _change_role(membership, form) -> None:
    team.change_role(membership, current_user, form.role.data, now=now_utc())


@bp.route("/b/<slug>/team/members/<int:membership_id>/role", methods=["POST"])
@login_required
def change_role(slug: str, membership_id: int):
    return _member_action(slug, membership_id, _change_role, "{name}'s role is saved.")


@bp.route("/b/<slug>/team/members/<int:membership_id>/remove", methods=["POST"])
@login_required
def remove(slug: str, membership_id: int):
    return _member_action(slug, membership_id,
                          lambda membership, form: team.remove_member(membership, current_user, now=now_utc()),
                          "{name} is no longer on the team.")


@bp.route("/b/<slug>/team/members/<int:membership_id>/hand-over", methods=["POST"])
@login_required
def hand_over(slug: str, membership_id: int):
    return _member_action(slug, membership_id,
                          lambda membership, form: team.hand_over(membership, current_user, now=now_utc()),
                          "{name} is now an owner; you are staff.")


@bp.route("/b/<slug>/team/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
def revoke(slug: str, invitation_id: int):
    business = _owned_business_or_404(slug)
    invitation = team.invitation_of(business, invitation_id) or abort(404)
    EmptyForm().validate_on_submit()  # CSRFProtect has already checked the token
    ok, _ = attempt(lambda: team.revoke(invitation, current_user, now=now_utc()))
    if ok:
        flash("The invitation is withdrawn; its link no longer works.", "success")
    return redirect(url_for("team.page", slug=slug))


@bp.route("/b/<slug>/team/leave", methods=["POST"])
@login_required
def leave(slug: str):
    """A member leaves the team (an owner only if another owner remains)."""
    business = businesses.by_slug(slug) or abort(404)
    membership = team.membership_of(business, current_user) or abort(404)
    ok, _ = attempt(lambda: team.remove_member(membership, current_user, now=now_utc()))
    if ok:
        flash(f"You have left {isolate(business.name)}.", "success")
    return redirect(url_for("business.held_inbox"))


# -- invitations ----------------------------------------------------------------------------------


def _invitation_refused(message: str, status: int):
    return render_template("auth/message.html", title="Cannot use this invitation", message=message), status


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str):
    """Anyone with the link sees the invitation; accepting needs an account (sign up or log in,
    then back here). Only the POST accepts."""
    try:
        invitation_id, email = tokens.read_invitation_token(token)
    except tokens.TokenError as error:
        return _invitation_refused(str(error), 400)
    found = db.session.get(Invitation, invitation_id)
    if found is None or found.email != email:
        return _invitation_refused("This invitation link is not valid.", 400)
    status = found.status_at(now_utc())
    if status is not InvitationStatus.PENDING:
        return _invitation_refused(team.INVITATIONS.by_state[status], 410)
    member = current_user.is_authenticated and access.is_member(current_user, found.business_id)
    form = EmptyForm()
    if current_user.is_authenticated and not member and form.validate_on_submit():
        business_name = isolate(found.business.name)
        ok, _ = attempt(lambda: team.accept(found, current_user, email=email, now=now_utc()), form)
        if ok:
            flash(f"Welcome to the team of {business_name}. Its reviews in their make-it-right window "
                  "are in your inbox.", "success")
            return redirect(url_for("business.held_inbox"))
        return _invitation_refused(" ".join(form.form_errors), 410)
    return render_template("team/invitation.html", invitation=found, form=form, member=member)


# -- the listing's details -----------------------------------------------------------------------


@bp.route("/b/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit_listing(slug: str):
    business = _owned_business_or_404(slug)
    form = ListingForm(obj=business)
    if form.validate_on_submit():
        values = {name: form[name].data for name in listing_details.EDITABLE}
        ok, changed = attempt(lambda: listing_details.edit(business, current_user, now=now_utc(), **values), form)
        if ok:
            flash("The listing is updated; the change is in its history." if changed else "Nothing changed.",
                  "success" if changed else "info")
            return redirect(url_for("public.business", slug=slug))
    return render_template("team/edit_listing.html", business=business, form=form,
                           history=listing_details.history(business), labels=listing_details.LABELS), form_status(form)


@bp.route("/b/<slug>/history")
def listing_history(slug: str):
    """Anyone may read how a listing's public details changed (a rename keeps its reviews)."""
    business = businesses.by_slug(slug) or abort(404)
    return render_template("team/history.html", business=business, history=listing_details.history(business),
                           labels=listing_details.LABELS)
