"""Rate limits, in one place: every action an outsider could repeat to guess, flood or spam is
limited per address (the client's IP) and per account, with the counters in the store named by
``RATELIMIT_STORAGE_URI`` (Redis in production, so a limit holds across every web process; the
production posture refuses to start with counters in each process's memory).

"Per account" is the signed-in person for what only they can do (reviews, thread messages,
offers, listings) and the address typed into the form for what anyone can try (log-in, sign-up,
reset): guessing one account's password from many addresses is still slowed down, because wrong
passwords are counted per target account too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Response, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from reviewsite.extensions import limiter
from reviewsite.services.accounts import normalise_email

F = TypeVar("F", bound=Callable[..., object])


def by_address() -> str:
    return f"ip:{get_remote_address()}"


def by_account() -> str:
    """The signed-in person (these views require one)."""
    return f"user:{current_user.id}" if current_user.is_authenticated else by_address()


def by_typed_email() -> str:
    """The account an anonymous form names; a form without an address counts against its sender."""
    email = normalise_email(request.form.get("email", ""))[:254]
    return f"email:{email}" if email else by_address()


def failed(response: Response) -> bool:
    """A form shown again with its errors (wrong password, bad input): 422, see web.form_status."""
    return response.status_code == 422


# (limit, key) pairs per action, all on POST only: reading a form is free.
LOGIN = (("20 per minute; 200 per hour", by_address), ("10 per minute", by_typed_email))
# Wrong passwords for one account, whoever sends them: after these, that account's log-in waits.
LOGIN_FAILURES = "5 per minute; 20 per hour"
SIGNUP = (("10 per minute; 100 per hour", by_address), ("3 per hour", by_typed_email))
FORGOT_PASSWORD = (("5 per minute; 30 per hour", by_address), ("3 per hour", by_typed_email))
RESET_PASSWORD = (("10 per minute", by_address),)
CHANGE_PASSWORD = (("10 per minute", by_address), ("5 per minute; 20 per hour", by_account))
REVIEW = (("300 per hour", by_address), ("10 per hour; 30 per day", by_account))
MESSAGE = (("600 per hour", by_address), ("30 per minute; 300 per day", by_account))
OFFER = (("300 per hour", by_address), ("10 per minute; 100 per day", by_account))
LISTING = (("60 per hour", by_address), ("5 per hour; 20 per day", by_account))
# Reports (moderation), and the POSTs that mail an address someone typed (claim links, team
# invitations): each could be used to flood someone else.
REPORT = (("60 per hour", by_address), ("10 per hour; 30 per day", by_account))
MAIL_TO_AN_ADDRESS = (("60 per hour", by_address), ("20 per hour", by_account))


def limited(*rules: tuple[str, Callable[[], str]]) -> Callable[[F], F]:
    """Decorate a view with each (limit, key) rule, counted on POST requests."""
    def decorate(view: F) -> F:
        for limit, key in rules:
            view = limiter.limit(limit, key_func=key, methods=["POST"])(view)
        return view
    return decorate


def login_failures(view: F) -> F:
    """Only failed log-ins count here, per target account: the owner who types the password
    right is not slowed by others' attempts until they add up to LOGIN_FAILURES."""
    return limiter.limit(LOGIN_FAILURES, key_func=by_typed_email, methods=["POST"], deduct_when=failed,
                         scope="login-failures")(view)
