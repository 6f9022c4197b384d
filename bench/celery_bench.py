"""The production Celery app (tasks.celery_app) plus one bench-only task, ``bench.noop``: the
baseline for notification throughput on the same workers. It only counts itself in Redis, so the
benchmark can tell when all have run (results are ignored in this app)."""

import redis

from bench.common import BROKER_URL
from tasks.celery_app import celery_app, flask_app  # noqa: F401

_redis = None


@celery_app.task(name="bench.noop")
def noop() -> None:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(BROKER_URL)
    _redis.incr("bench:noop")
