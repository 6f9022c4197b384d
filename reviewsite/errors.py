"""Error pages: a clear page with the right status, never a stack trace, never private text.

A database that is unreachable (PostgreSQL restarting) gives 503 "try again", so a request that
could not be saved never looks like a success.
"""

from __future__ import annotations

import logging

from flask import Flask, g, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from flask_limiter.errors import RateLimitExceeded

from reviewsite.extensions import db, login_manager

log = logging.getLogger(__name__)


def _page(code: int, title: str, message: str):
    return render_template("errors/error.html", code=code, title=title, message=message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _page(400, "Form expired", "The form was open too long or came from elsewhere. Go back, reload the page and try again.")

    @app.errorhandler(RateLimitExceeded)
    def too_many(error: RateLimitExceeded):
        seconds = error.limit.limit.get_expiry()
        wait = "a minute" if seconds <= 60 else "an hour" if seconds <= 3600 else "a day"
        return _page(429, "Slow down", f"That was tried too many times in a short while. Wait {wait} and try "
                                       f"again; nothing was sent or saved.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = {
            404: ("Not found", "There is nothing here, or it is not yours to see."),
            403: ("Not allowed", "You cannot do that."),
            405: ("Not allowed", "That page cannot be used this way."),
            413: ("Too large", "What you sent is too large."),
            429: ("Slow down", "Too many attempts. Wait a minute and try again."),
        }
        title, message = messages.get(error.code or 500, (error.name, error.description or ""))
        return _page(error.code or 500, title, message)

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_unavailable(error: Exception):
        db.session.rollback()
        log.error("database error: %s", error)
        # The page itself must not need the database: render it as for a visitor. Loading the
        # user (where the error may have come from), the header's unread count and the user's
        # attributes, expired by the rollback, would each query it again and turn this into a 500.
        g._login_user = login_manager.anonymous_user()
        return _page(503, "Try again in a moment", "We could not save or load this just now. Nothing was changed.")

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        db.session.rollback()
        log.exception("unhandled error")
        return _page(500, "Something went wrong", "We have logged the problem. Nothing was changed.")
