"""The unit of work of one statement (unit_of_work.one_statement) runs on its own only when its
statement really is the whole unit: a session that already holds changes commits them with it."""

from __future__ import annotations

from reviewsite.database import ALONE
from reviewsite.extensions import db
from reviewsite.models import User
from reviewsite.unit_of_work import one_statement
from tests.factories import UserFactory


def test_a_unit_of_one_statement_keeps_what_the_session_holds_in_one_transaction(ctx):
    user = UserFactory(display_name="Before")
    db.session.commit()
    user.display_name = "After"  # a change the session holds, not yet written
    with one_statement() as session:
        assert not session.connection().get_execution_options().get(ALONE)
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "After"


def test_a_clean_session_runs_the_one_statement_on_its_own(ctx):
    with one_statement() as session:
        assert session.connection().get_execution_options().get(ALONE) is True
