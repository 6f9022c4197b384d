"""One unit of work per request or task: services flush, this commits (or rolls back) once.

It is the only place that ends a transaction; nothing else in the application decides how
transactions run. The mail delivery edge (``notifications/delivery.py``) uses it for each of its
steps, and :func:`one_statement` for the record of each mail sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import scoped_session

from reviewsite.database import ALONE
from reviewsite.extensions import db


@contextmanager
def unit_of_work() -> Iterator[scoped_session]:
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


@contextmanager
def one_statement() -> Iterator[scoped_session]:
    """A unit of work whose block runs exactly one statement. One statement is atomic by itself,
    so on PostgreSQL it runs on its own (``database.ALONE``), without the BEGIN and COMMIT round
    trips a unit of several statements needs; mail delivery records each mail the server
    accepted this way, one unit a mail. A session that already holds changes (the development
    mailbox's mail, stored with the record of its sending) or a transaction gets an ordinary
    unit of work: its statements must commit together."""
    with unit_of_work() as session:
        current = session()  # the request's or task's Session itself
        if not (current.in_transaction() or current.new or current.dirty or current.deleted):
            current.connection(execution_options={ALONE: True})
        yield session
