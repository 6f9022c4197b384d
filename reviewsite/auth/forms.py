from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from reviewsite.forms import Form
from reviewsite.services.accounts import PASSWORD_MIN

PASSWORD_MESSAGE = f"Choose a password of at least {PASSWORD_MIN} characters (at most 200)."


def _new_password(label: str) -> PasswordField:
    return PasswordField(label, validators=[DataRequired(), Length(min=PASSWORD_MIN, max=200, message=PASSWORD_MESSAGE)])


def _repeat(label: str) -> PasswordField:
    return PasswordField(label, validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")])


class SignupForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    display_name = StringField("Name shown with your reviews", validators=[DataRequired(), Length(max=60)])
    password = _new_password("Password")
    confirm = _repeat("Repeat password")


class LoginForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me logged in")


class ForgotPasswordForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])


class ResetPasswordForm(Form):
    password = _new_password("New password")
    confirm = _repeat("Repeat new password")


class ChangePasswordForm(Form):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    password = _new_password("New password")
    confirm = _repeat("Repeat new password")


class EmptyForm(Form):
    """A button that POSTs: carries only the CSRF token."""
