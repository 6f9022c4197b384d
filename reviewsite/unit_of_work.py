"""One unit of work per request or task: services flush, this commits (or rolls back) once.

It is the only place that ends a transaction; nothing else in the application decides how
transactions run. The mail delivery edge (``notifications/delivery.py``) uses :func:`unit_of_work`
for each of its steps, and :func:`statement_by_statement` for the record of each mail an SMTP
server accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy.orm import Session, scoped_session

from reviewsite.database import ALONE
from reviewsite.extensions import db


@contextmanager
def unit_of_work() -> Iterator[scoped_session]:
    current = db.session()
    if _statements_alone(current):  # inside statement_by_statement: its statements have committed
        current.commit()  # so that this unit's statements begin a transaction of their own
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


Unit = Callable[[], AbstractContextManager[scoped_session]]
# Session.info: the session transaction whose statements each run on their own (ALONE).
_ALONE = "reviewsite_statements_alone"


@contextmanager
def statement_by_statement() -> Iterator[Unit]:
    """Units of work of one statement each, on one connection held through the block: ``with
    unit(): <one statement>``.

    For a run of writes each of which must be durable before the next step, with a wait between
    them that no transaction may span: mail delivery records each mail the SMTP server accepted
    before the next one goes (invariant 5). One statement is atomic by itself, so each runs on its
    own (``database.ALONE``: neither BEGIN nor COMMIT on PostgreSQL, no ``BEGIN IMMEDIATE`` on
    SQLite) and is committed when its unit ends. Between units the connection stays checked out,
    in no transaction, so the next unit pays for neither a pool checkout nor a session
    transaction (BENCHMARKS.md, "recording a mail"). A unit that fails rolls back and gives the
    connection back; the next one takes one again. An ordinary :func:`unit_of_work` inside the
    block (a retry) gets a transaction of its own. The block's caller must hold no changes: a
    mail stored in the development mailbox commits with its record, in an ordinary unit."""
    session = db.session()

    @contextmanager
    def unit() -> Iterator[scoped_session]:
        if not _statements_alone(session):  # the first unit, or the first after a failed one
            if session.in_transaction():
                session.commit()  # only reads can have begun it (writes go in units): nothing to lose
            session.connection(execution_options={ALONE: True})
            session.info[_ALONE] = session.get_transaction()
        try:
            yield db.session
        except BaseException:
            db.session.rollback()
            raise

    try:
        yield unit
        db.session.commit()  # each statement committed as it ran: this gives the connection back
    except BaseException:
        db.session.rollback()
        raise
    finally:
        session.info.pop(_ALONE, None)


def _statements_alone(session: Session) -> bool:
    transaction = session.get_transaction()
    return transaction is not None and session.info.get(_ALONE) is transaction
