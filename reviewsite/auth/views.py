from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, login_user, logout_user

from reviewsite.auth.forms import EmptyForm, ForgotPasswordForm, LoginForm, ResetPasswordForm, SignupForm
from reviewsite.clock import now_utc
from reviewsite.extensions import limiter
from reviewsite.services import accounts, tokens
from reviewsite.web import attempt, form_status, safe_next

bp = Blueprint("auth", __name__)

AUTH_LIMIT = "10 per minute"


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        ok, user = attempt(
            lambda: accounts.register(
                email=form.email.data, password=form.password.data,
                display_name=form.display_name.data, now=now_utc()),
            form,
        )
        if ok:
            login_user(user)
            flash("Welcome! We sent you an email: follow its link to confirm your address.", "success")
            return redirect(safe_next(url_for("public.home")))
    return render_template("auth/signup.html", form=form), form_status(form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(url_for("public.home")))
        form.form_errors.append("That email and password do not match an account.")
    return render_template("auth/login.html", form=form), form_status(form)


@bp.route("/logout", methods=["POST"])
def logout():
    EmptyForm().validate_on_submit()  # CSRFProtect has already checked the token
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("public.home"))


@bp.route("/confirm/<token>")
def confirm(token: str):
    try:
        user = tokens.user_from_confirmation_token(token)
    except tokens.TokenError as error:
        return render_template("auth/message.html", title="Cannot confirm", message=str(error)), 400
    attempt(lambda: accounts.confirm_email(user, now=now_utc()))
    flash("Your email address is confirmed.", "success")
    return redirect(url_for("public.home"))


@bp.route("/confirm")
@login_required
def confirmation():
    """Where the "confirm your email address" notice leads: whether it is done, and if not, how."""
    return render_template("auth/confirmation.html", form=EmptyForm())


@bp.route("/confirm/resend", methods=["POST"])
@login_required
@limiter.limit("3 per minute")
def resend_confirmation():
    if current_user.is_confirmed:
        flash("Your email address is already confirmed.", "info")
    else:
        attempt(lambda: accounts.send_confirmation(current_user, now=now_utc()))
        flash("We sent a new confirmation email.", "success")
    return redirect(url_for("public.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        attempt(lambda: accounts.request_password_reset(form.email.data, now=now_utc()))
        # The same answer whether or not the address has an account.
        return render_template(
            "auth/message.html", title="Check your email",
            message="If an account uses that address, we sent it a link to choose a new password.")
    return render_template("auth/forgot.html", form=form), form_status(form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def reset_password(token: str):
    try:
        user = tokens.user_from_reset_token(token)
    except tokens.TokenError as error:
        return render_template("auth/message.html", title="Cannot reset password", message=str(error)), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        ok, _ = attempt(lambda: accounts.set_password(user, form.password.data, now=now_utc()), form)
        if ok:
            login_user(user)
            flash("Your password is changed.", "success")
            return redirect(url_for("public.home"))
    return render_template("auth/reset.html", form=form), form_status(form)
