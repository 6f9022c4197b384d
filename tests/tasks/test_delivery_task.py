"""The prompt-delivery task's fan-out (tasks/delivery.py), run in this process: a commit's message
of more than one SMTP batch passes the other batches to other workers, one message each, and a
broker that fails midway leaves the rest to the outbox sweep (logged, never raised: the worker
still sends its own batch). Real workers run it in tests/processes."""

from __future__ import annotations

import pytest

from tasks import delivery as delivery_tasks


@pytest.fixture
def passed_on(monkeypatch):
    sent: list[list[int]] = []
    shown: list[str] = []

    def apply_async(args, retry, argsrepr):
        sent.append(args[0])
        shown.append(argsrepr)

    monkeypatch.setattr(delivery_tasks.deliver_notifications, "apply_async", apply_async)
    return sent, shown


def test_batches_beyond_the_first_go_to_other_workers(ctx, passed_on):
    outcomes = delivery_tasks.deliver_notifications.run(list(range(1, 131)))
    sent, shown = passed_on
    assert sent == [list(range(51, 101)), list(range(101, 131))]
    # What the worker's log shows of each message: the count and range, not a cut-off list.
    assert shown == ["[50 notification ids, 51..100]", "[30 notification ids, 101..130]"]
    # The first batch is this worker's own (none of these rows exists, so nothing is sent).
    assert outcomes == dict.fromkeys(range(1, 51), "skipped")


def test_a_broker_failure_leaves_the_rest_to_the_sweep(ctx, monkeypatch, caplog):
    sent: list[list[int]] = []

    def fails_on_the_second(args, retry, argsrepr):
        if sent:
            raise ConnectionError("broker gone")
        sent.append(args[0])

    monkeypatch.setattr(delivery_tasks.deliver_notifications, "apply_async", fails_on_the_second)
    # Alembic's logging setup (the migrations run first) disables loggers that already exist.
    monkeypatch.setattr(delivery_tasks.log, "disabled", False)
    outcomes = delivery_tasks.deliver_notifications.run(list(range(1, 181)))
    assert sent == [list(range(51, 101))]
    assert "could not pass on 80 notifications" in caplog.text
    assert outcomes == dict.fromkeys(range(1, 51), "skipped")
