"""The module Celery loads (``celery -A tasks.celery_app``), as in Flask's Celery example:
build the Flask app, take its Celery instance, attach the schedule and the task modules."""

import gc
import logging
from typing import Any

from celery.signals import worker_process_init
from celery.worker.consumer import Consumer

from reviewsite import create_app
from tasks.schedule import beat_schedule

RETRY_INTERVALS = ("interval_start", "interval_step", "interval_max")

log = logging.getLogger(__name__)


def close_tolerantly(connection: Any) -> None:
    """Make ``connection.close()`` survive kombu's AttributeError while closing a Redis
    connection that is already lost: the channel's close restores its unacknowledged messages
    through a client whose connection was just dropped (``'NoneType' object has no attribute
    'hostname'``), and Celery only ignores connection errors there, so the whole worker exited
    ("Unrecoverable error") on a Redis restart. Those messages stay in Redis's unacked set and
    come back after the visibility timeout; every task here is safe to run late or twice."""
    close = connection.close

    def tolerant() -> None:
        try:
            close()
        except AttributeError as exc:
            log.warning("closing the lost broker connection: %r (its unacknowledged messages come back after "
                        "the visibility timeout)", exc)

    connection.close = tolerant


class PromptReconnectConsumer(Consumer):
    """A worker's consumer that survives losing the broker and gets it back promptly.

    It retries a lost broker connection as often as ``broker_transport_options`` says
    (interval_start/step/max, which kombu applies to producers), and closes the lost connection
    without dying on kombu's error there (:func:`close_tolerantly`).

    Celery's consumer calls kombu's ``ensure_connection`` with kombu's defaults, 2, 4, 6 ... 30 s
    between attempts, and no setting reaches them: after Redis was down for 3 s a worker waited
    6 s more, and each of those seconds is publication lateness (invariant 3)."""

    def ensure_connected(self, conn: Any) -> Any:
        options = conn.transport_options or {}
        intervals = {key: options[key] for key in RETRY_INTERVALS if key in options}
        if intervals:
            ensure = conn.ensure_connection
            conn.ensure_connection = lambda *args, **kwargs: ensure(*args, **{**intervals, **kwargs})
        return super().ensure_connected(conn)

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        if self.connection is not None:
            close_tolerantly(self.connection)
        super().on_connection_error_after_connected(exc)


flask_app = create_app(migrations=False)
celery_app = flask_app.extensions["celery"]
celery_app.conf.beat_schedule = beat_schedule(flask_app.config)
celery_app.conf.worker_consumer = f"{__name__}:PromptReconnectConsumer"


@worker_process_init.connect
def freeze_start_up_objects(**_: Any) -> None:
    """The same as the web workers (``gunicorn.conf.py``): a pool process keeps the app it
    inherits for its life, so the garbage collector is told to stop walking it."""
    gc.collect()
    gc.freeze()


import tasks.delivery  # noqa: E402,F401 - registers the tasks
import tasks.sweeps  # noqa: E402,F401
