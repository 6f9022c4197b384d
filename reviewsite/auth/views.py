from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from reviewsite import limits
from reviewsite.auth.forms import (
    ChangePasswordForm,
    EmptyForm,
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
    SignupForm,
)
from reviewsite.clock import now_utc
from reviewsite.models import User
from reviewsite.services import accounts, logins, tokens
from reviewsite.web import attempt, form_status, safe_next

bp = Blueprint("auth", __name__)

# One answer for an unknown address, a wrong password and an address not confirmed yet.
LOGIN_FAILED = ("That email and password do not match an account. If you signed up recently, follow the link "
                "in the email we sent you first.")


# The session key for the page a person signing up was on its way to (checked by safe_next).
AFTER_CONFIRMATION = "after_confirmation"


def _log_in(user: User, *, remember: bool = False) -> None:
    """A new login (its token is what the cookies hold), committed before the cookies are set."""
    attempt(lambda: logins.open_login(user, now=now_utc()))
    login_user(user, remember=remember)


@bp.route("/signup", methods=["GET", "POST"])
@limits.limited(*limits.SIGNUP)
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        email = accounts.normalise_email(form.email.data)
        ok, _ = attempt(
            lambda: accounts.sign_up(email=email, password=form.password.data,
                                     display_name=form.display_name.data, now=now_utc()),
            form,
        )
        if ok:
            # Where the person was going (an invitation, a claim): the confirmation link, opened
            # in this browser, leads back there through the log-in.
            going = safe_next("")
            if going:
                session[AFTER_CONFIRMATION] = going
            # The same page whether the address is new or has an account: the mail says which.
            flash(f"We sent an email to {email}. Follow the link in it to finish.", "info")
            return redirect(url_for("auth.check_email"))
    return render_template("auth/signup.html", form=form), form_status(form)


@bp.route("/signup/sent")
def check_email():
    return render_template(
        "auth/message.html", title="Check your email",
        message="Open the email we just sent and follow its link. If nothing arrives within a few minutes, look "
                "in your spam folder, or sign up again.")


@bp.route("/login", methods=["GET", "POST"])
@limits.limited(*limits.LOGIN)
@limits.login_failures
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            _log_in(user, remember=form.remember.data)
            return redirect(safe_next(url_for("public.home")))
        form.form_errors.append(LOGIN_FAILED)
    return render_template("auth/login.html", form=form), form_status(form)


@bp.route("/logout", methods=["POST"])
def logout():
    EmptyForm().validate_on_submit()  # CSRFProtect has already checked the token
    if current_user.is_authenticated:
        token = current_user.login_token
        attempt(lambda: logins.end(token, now=now_utc()))
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
    going = session.pop(AFTER_CONFIRMATION, None)
    if current_user.is_authenticated:
        return redirect(going or url_for("public.home"))
    flash("Log in to start.", "info")
    return redirect(url_for("auth.login", next=going) if going else url_for("auth.login"))


@bp.route("/confirm")
@login_required
def confirmation():
    """Where the "confirm your email address" notice leads once it is done: only a confirmed
    address logs in, so whoever is signed in here has confirmed it (an address whose link
    expired gets a new way in from signing up again or from a password reset, which confirms
    it too)."""
    return render_template("auth/confirmation.html")


@bp.route("/password/forgot", methods=["GET", "POST"])
@limits.limited(*limits.FORGOT_PASSWORD)
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
@limits.limited(*limits.RESET_PASSWORD)
def reset_password(token: str):
    try:
        user = tokens.user_from_reset_token(token)
    except tokens.TokenError as error:
        return render_template("auth/message.html", title="Cannot reset password", message=str(error)), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        ok, _ = attempt(lambda: accounts.set_password(user, form.password.data, now=now_utc()), form)
        if ok:
            logout_user()  # whoever was signed in in this browser; every login of the account ended
            _log_in(user)
            flash("Your password is changed, and every other session of your account has ended.", "success")
            return redirect(url_for("public.home"))
    return render_template("auth/reset.html", form=form), form_status(form)


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
@limits.limited(*limits.CHANGE_PASSWORD)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        token = current_user.login_token
        ok, _ = attempt(lambda: accounts.change_password(current_user, form.current.data, form.password.data,
                                                         now=now_utc(), keep_login=token), form)
        if ok:
            flash("Your password is changed. You are logged out everywhere else.", "success")
            return redirect(url_for("auth.change_password"))
    return render_template("auth/password.html", form=form), form_status(form)
