"""Every state x every action of the trust-and-safety tables: reports (decided by a moderator) and
appeals (filed by the person affected, decided by another moderator), through the services; and
the four transition tables themselves. Allowed actions lead where DESIGN.md says; every other
one is a domain error that changes nothing (invariant 7). The expected tables are written out
here, not imported from the code they check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from reviewsite.extensions import db
from reviewsite.models import (
    Appeal,
    AppealStatus,
    Decision,
    DecisionStatus,
    ItemKind,
    ModerationEvent,
    NoticeStatus,
    Notification,
    PressureNotice,
    Report,
    ReportStatus,
)
from reviewsite.services import appeals, decisions, moderation, pressure_notices
from reviewsite.services.errors import DomainError, InvalidTransition
from tests.factories import UserFactory
from tests.moderation_world import held_thread, item, people, report  # noqa: F401 - fixtures

OPEN, DISMISSED, UPHELD = ReportStatus.OPEN, ReportStatus.DISMISSED, ReportStatus.UPHELD

# decision -> {report state: the report's state after}; a state not listed is refused.
REPORT_TABLE = {
    "dismiss": {OPEN: DISMISSED},
    "remove": {OPEN: UPHELD},
    "notice": {OPEN: UPHELD},
}
OUTCOME_OF = {"dismiss": "dismissed", "remove": "removed", "notice": "notice"}


def footprint() -> dict[str, object]:
    """Everything a moderation step writes."""
    def count(model):
        return db.session.scalar(select(func.count()).select_from(model))

    return {
        "reports": sorted(db.session.execute(select(Report.id, Report.status, Report.decision_id)).all()),
        "decisions": sorted(db.session.execute(select(Decision.id, Decision.status)).all()),
        "appeals": sorted(db.session.execute(select(Appeal.id, Appeal.status)).all()),
        "notices": sorted(db.session.execute(select(PressureNotice.id, PressureNotice.status)).all()),
        "events": count(ModerationEvent),
        "notifications": count(Notification),
    }


def reported_message(people, held_thread, clock):
    """An open report, by the reviewer, of the business's message (a thread message by the
    business allows all three outcomes)."""
    _, message = held_thread
    found = item(ItemKind.MESSAGE, message.id)
    return found, report(people.reviewer, found, clock, reason="pressure")


def decide(found, moderator, action, clock):
    return decisions.decide(found, moderator, outcome=OUTCOME_OF[action], rule="pressure",
                            facts="The message pushes the reviewer to change the review.", now=clock.now())


@pytest.mark.parametrize("state", [OPEN, DISMISSED, UPHELD], ids=str)
@pytest.mark.parametrize("action", sorted(REPORT_TABLE))
def test_report_table(people, held_thread, clock, state, action):
    found, filed = reported_message(people, held_thread, clock)
    if state is not OPEN:
        decide(found, people.mod, "dismiss" if state is DISMISSED else "remove", clock)
    db.session.expire_all()
    expected = REPORT_TABLE[action].get(state)
    before = footprint()
    if expected is None:
        with pytest.raises(InvalidTransition, match="already been decided"):
            decide(found, people.mod2, action, clock)
        db.session.expire_all()
        assert footprint() == before, "a refused decision must change nothing"
    else:
        decision = decide(found, people.mod2, action, clock)
        db.session.expire_all()
        assert filed.status is expected and filed.decision_id == decision.id and filed.decided_at == clock.now()
        assert decision.outcome.value == OUTCOME_OF[action] and decision.status is DecisionStatus.IN_FORCE
        assert footprint()["events"] > before["events"]


# -- appeals ----------------------------------------------------------------------------------------

APPEALABLE, LATE, APPEALED, UPHELD_APPEAL, OVERTURNED_APPEAL, FINAL = (
    "appealable", "late", "open appeal", "appeal upheld", "appeal overturned", "made on appeal")

# action -> {state of the decision and its appeal: the appeal's state after}; others refused.
APPEAL_TABLE = {
    "file": {APPEALABLE: AppealStatus.OPEN},
    "uphold": {APPEALED: AppealStatus.UPHELD},
    "overturn": {APPEALED: AppealStatus.OVERTURNED},
}
APPEAL_STATES = [APPEALABLE, LATE, APPEALED, UPHELD_APPEAL, OVERTURNED_APPEAL, FINAL]


def decision_in(state, people, held_thread, clock):
    """A removal of the business's message in ``state``; returns (decision, appeal or None)."""
    found, _ = reported_message(people, held_thread, clock)
    decision = decide(found, people.mod, "remove" if state != FINAL else "dismiss", clock)
    if state == LATE:
        clock.advance(decision.appeal_until - clock.now() + timedelta(seconds=1))
        return decision, None
    if state == APPEALABLE:
        return decision, None
    appellant = people.owner if state != FINAL else people.reviewer
    appeal = appeals.file_appeal(decision, appellant, "We never asked for anything.", now=clock.now())
    if state == UPHELD_APPEAL:
        appeals.decide_appeal(appeal, people.mod2, overturn=False, facts="The message is plain.", now=clock.now())
    elif state == OVERTURNED_APPEAL:
        appeals.decide_appeal(appeal, people.mod2, overturn=True, facts="Read again: it is fine.", now=clock.now())
    elif state == FINAL:
        final = appeals.decide_appeal(appeal, people.mod2, overturn=True, facts="It does press the reviewer.",
                                      now=clock.now(), outcome="removed", rule="pressure")
        return final, None
    return decision, appeal


def act_on_appeal(action, decision, appeal, people, clock):
    if action == "file":
        who = people.staff  # a member of the business: a removal of its message affects it
        return appeals.file_appeal(decision, who, "Please look again.", now=clock.now())
    moderator = UserFactory(moderator=True)
    appeal = appeal or db.session.scalar(select(Appeal).where(Appeal.decision_id == decision.id))
    if appeal is None:
        raise InvalidTransition("no appeal to decide")
    return appeals.decide_appeal(appeal, moderator, overturn=action == "overturn", facts="Looked again.",
                                 now=clock.now())


@pytest.mark.parametrize("state", APPEAL_STATES)
@pytest.mark.parametrize("action", sorted(APPEAL_TABLE))
def test_appeal_table(people, held_thread, clock, state, action):
    decision, appeal = decision_in(state, people, held_thread, clock)
    db.session.expire_all()
    expected = APPEAL_TABLE[action].get(state)
    before = footprint()
    if expected is None:
        with pytest.raises(DomainError):
            act_on_appeal(action, decision, appeal, people, clock)
        db.session.expire_all()
        assert footprint() == before, "a refused appeal action must change nothing"
        return
    act_on_appeal(action, decision, appeal, people, clock)
    db.session.expire_all()
    row = db.session.scalar(select(Appeal).where(Appeal.decision_id == decision.id))
    assert row.status is expected
    if expected is AppealStatus.OVERTURNED:
        assert decision.status is DecisionStatus.REVERSED and decision.reversed_at == clock.now()
    else:
        assert decision.status is DecisionStatus.IN_FORCE


# -- the four tables, row by row -----------------------------------------------------------------------

A = moderation.Action
MACHINE_TABLES = {
    "reports": (moderation.REPORTS, list(ReportStatus), {A.DISMISS: {OPEN}, A.UPHOLD: {OPEN}}),
    "decisions": (moderation.DECISIONS, list(DecisionStatus), {A.REVERSE: {DecisionStatus.IN_FORCE}}),
    "appeals": (moderation.APPEALS, list(AppealStatus),
                {A.CONFIRM: {AppealStatus.OPEN}, A.OVERTURN: {AppealStatus.OPEN}}),
    "notices": (moderation.NOTICES, list(NoticeStatus),
                {A.EXPIRE: {NoticeStatus.ACTIVE}, A.LIFT: {NoticeStatus.ACTIVE}}),
}
CASES = [(name, state, action) for name, (_, states, table) in MACHINE_TABLES.items()
         for state in states for action in table]


def row_in(name, state, people, held_thread, clock):
    """A row of the table's model in ``state`` (with the columns its CHECK constraints want)."""
    found, filed = reported_message(people, held_thread, clock)
    decision = decide(found, people.mod, "notice", clock)
    if name == "reports":
        return filed if state is UPHELD else _set(Report, filed, status=state,
                                                  **({} if state is not OPEN else {"decision_id": None,
                                                                                   "decided_at": None}))
    if name == "decisions":
        return _set(Decision, decision, status=state, reversed_at=clock.now() if state is DecisionStatus.REVERSED
                    else None)
    if name == "appeals":
        appeal = appeals.file_appeal(decision, people.owner, "Not pressure.", now=clock.now())
        done = {} if state is AppealStatus.OPEN else {"moderator_id": people.mod2.id, "decided_at": clock.now(),
                                                     "facts": "x"}
        return _set(Appeal, appeal, status=state, **done)
    notice = pressure_notices.for_decision(decision)
    return _set(PressureNotice, notice, status=state,
                ended_at=None if state is NoticeStatus.ACTIVE else clock.now())


def _set(model, row, **values):
    db.session.execute(model.__table__.update().where(model.__table__.c.id == row.id).values(**values))
    db.session.expire(row)
    return row


@pytest.mark.parametrize("name,state,action", CASES, ids=[f"{n}-{s}-{a}" for n, s, a in CASES])
def test_every_table_row(people, held_thread, clock, name, state, action):
    machine, _, table = MACHINE_TABLES[name]
    row = row_in(name, state, people, held_thread, clock)
    allowed = state in table[action]
    if allowed:
        machine.compare_and_set(row, action, status=state)  # the write itself is the caller's
        return
    status_before = row.status
    with pytest.raises(InvalidTransition):
        machine.compare_and_set(row, action, status=state)
    db.session.expire(row)
    assert row.status is status_before


def test_a_stale_object_cannot_win_the_race(people, held_thread, clock):
    """Two moderators at once: the row moved after this one was read, so the compare-and-set
    finds nothing to change and refuses, though the object in memory still says open."""
    found, filed = reported_message(people, held_thread, clock)
    assert filed.status is OPEN
    decide(found, people.mod, "dismiss", clock)  # another moderator got there first ...
    set_committed_value(filed, "status", OPEN)  # ... after this object was read
    with pytest.raises(InvalidTransition):
        moderation.REPORTS.compare_and_set(filed, A.UPHOLD, status=UPHELD)
