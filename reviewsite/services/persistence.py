"""Writing rows whose uniqueness only the database can guarantee."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from reviewsite.extensions import db
from reviewsite.services.errors import Conflict


def add_unique(row: object, conflict_message: str) -> None:
    """Insert ``row``; a unique-constraint violation (two tabs, a double click, a race the
    earlier check could not see) becomes a Conflict. The savepoint keeps the rest of the
    transaction usable."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(conflict_message) from exc
