"""Checks of values whose shape a form already checked, repeated where the rule lives: a service
may be called by a task, the CLI or a test, and must refuse what no form would let through."""

from __future__ import annotations

from reviewsite.services.errors import Invalid


def text(value: str | None, field: str, maximum: int) -> str:
    """Stripped text, neither empty nor longer than ``maximum`` characters."""
    value = (value or "").strip()
    if not value:
        raise Invalid(f"The {field} cannot be empty.")
    if len(value) > maximum:
        raise Invalid(f"The {field} can be at most {maximum} characters.")
    return value


def stars(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
        raise Invalid("Stars must be a whole number from 1 to 5.")
    return value
