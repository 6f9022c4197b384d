"""One unit of work per request or task: services flush, this commits (or rolls back) once.

It is the only place that ends a transaction; nothing else in the application decides how
transactions run. The mail delivery edge (``notifications/delivery.py``) uses it for each of its
steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import scoped_session

from reviewsite.extensions import db


@contextmanager
def unit_of_work() -> Iterator[scoped_session]:
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
