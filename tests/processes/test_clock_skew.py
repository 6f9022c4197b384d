"""One clock for deadlines (invariant 8): a real worker whose host clock runs 30 s ahead (libfaketime)
sweeps against PostgreSQL beside an unskewed beat, and publishes nothing before its publish_at,
because what is due is judged by the database's clock (reviewsite.clock.database_now). With the
worker's own clock it would publish at its first sweep, 26 s early; and with sweep messages
expiring ten intervals after beat sent them it would drop every one of them as expired.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from reviewsite.clock import now_utc
from reviewsite.models import ReviewStatus
from tests.processes.conftest import Deployment, wait_for
from tests.processes.test_processes import LATENESS_BOUND, make_scene, review_state
from tests.skew import measured_skew, skewed_env

pytestmark = pytest.mark.processes

SKEW_SECONDS = 30


def test_a_worker_whose_clock_runs_ahead_publishes_nothing_early(production: Deployment, start_celery) -> None:
    skew = skewed_env(SKEW_SECONDS)
    assert measured_skew(skew) > SKEW_SECONDS - 2  # the skew is real, or this test proves nothing
    processes = start_celery(production, worker_env=skew)
    app = production.app()
    with app.app_context():
        scene = make_scene()  # held; publish_at = now + WINDOW_SECONDS (4 s) by the database host's clock
        observations: list[tuple[datetime, ReviewStatus]] = []

        def published():
            state = review_state(scene.review_id)
            observations.append((now_utc(), state.status))  # this process's clock is not skewed
            return state if state.status is ReviewStatus.PUBLISHED else None

        state = wait_for(published, timeout=(scene.publish_at - now_utc()).total_seconds() + 30,
                         what="the skewed worker to publish the review", interval=0.05,
                         detail=lambda: f"{observations[-3:]}\n{processes.logs()}")
    early = [at for at, status in observations if status is ReviewStatus.PUBLISHED and at < scene.publish_at]
    assert not early, f"published before publish_at {scene.publish_at}: seen at {early}"
    assert [status for _, status in observations[:3]] == [ReviewStatus.HELD] * 3
    assert state.published_at >= scene.publish_at
    assert state.published_at - scene.publish_at <= LATENESS_BOUND  # and not held late either
    assert state.released_by.value == "system"
