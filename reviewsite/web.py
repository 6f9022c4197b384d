"""Small helpers shared by the thin views."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import flash, request

from reviewsite.forms import Form
from reviewsite.services.errors import DomainError
from reviewsite.unit_of_work import unit_of_work

T = TypeVar("T")


def attempt(action: Callable[[], T], form: Form | None = None) -> tuple[bool, T | None]:
    """Run one service call as the request's unit of work. A domain refusal rolls back and
    becomes a message on the form (or a flash), never a 500 and never half-written data."""
    try:
        with unit_of_work():
            result = action()
    except DomainError as error:
        if form is not None:
            form.form_errors.append(str(error))
        else:
            flash(str(error), "error")
        return False, None
    return True, result



def safe_next(default: str) -> str:
    """Only follow ``next`` to a path on this site (no open redirects)."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and not parts.scheme:
        return target
    return default


def form_status(form: Form) -> int:
    """422 when a submitted form is shown again with errors, so clients and tests can tell."""
    return 422 if form.errors or form.form_errors else 200
