"""The module Celery loads (``celery -A tasks.celery_app``), as in Flask's Celery example:
build the Flask app, take its Celery instance, attach the schedule and the task modules."""

from reviewsite import create_app
from tasks.schedule import beat_schedule

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
celery_app.conf.beat_schedule = beat_schedule(flask_app.config)

import tasks.delivery  # noqa: E402,F401 - registers the tasks
import tasks.lifecycle  # noqa: E402,F401
import tasks.notices  # noqa: E402,F401
