"""The publication sweep against a raw SQL UPDATE of the same due rows, and the idle sweep.

Each case makes N held reviews due (release times in the past hour, as of a fixed ``now``), times
one raw ``UPDATE`` of them, puts them back, then times the real sweep: ``publish_due`` in a unit
of work, batch after batch (``SWEEP_BATCH_SIZE``), as the beat task does, with its outbox rows,
audit events and after-commit Celery messages. Both start from a vacuumed table. Afterwards every
row is put back as it was and the events and notifications written are deleted.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

from bench.common import Profile, Results, configure_in_process, connect, log


def _vacuum(index_cleanup: bool = True) -> None:
    """INDEX_CLEANUP ON so every case starts from the same clean indexes; the idle sweep is measured
    after a plain VACUUM, as autovacuum leaves it (PostgreSQL may then skip the index pass)."""
    option = ", INDEX_CLEANUP ON" if index_cleanup else ""
    with connect(autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE{option}) review, notification, review_event")


def _marks() -> tuple[int, int]:
    with connect() as conn:
        n = conn.execute("SELECT coalesce(max(id), 0) FROM notification").fetchone()[0]
        e = conn.execute("SELECT coalesce(max(id), 0) FROM review_event").fetchone()[0]
    return n, e


def _delete_written(marks: tuple[int, int]) -> None:
    with connect() as conn:
        conn.execute("DELETE FROM notification WHERE id > %s", (marks[0],))
        conn.execute("DELETE FROM review_event WHERE id > %s", (marks[1],))
        conn.commit()


def _prepare(n: int, now: datetime) -> int:
    """Save n reviews that are or were held, then make them held and due."""
    with connect() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_saved")
        conn.execute("""
            CREATE TABLE bench_saved AS
            SELECT id, status, publish_at, published_at, released_by, reminder_due_at,
                   %(now)s::timestamptz - random() * interval '1 hour' - interval '1 second' AS due_at
            FROM review WHERE held_at IS NOT NULL AND status IN ('held', 'published')
            ORDER BY (status = 'held') DESC, random() LIMIT %(n)s""", {"now": now, "n": n})
        conn.execute("ALTER TABLE bench_saved ADD PRIMARY KEY (id)")
        _restore_due(conn)
        count = conn.execute("SELECT count(*) FROM bench_saved").fetchone()[0]
        conn.commit()
    return count


def _restore_due(conn) -> None:
    conn.execute("""
        UPDATE review r SET status = 'held', published_at = NULL, released_by = NULL,
               reminder_due_at = NULL, publish_at = s.due_at
        FROM bench_saved s WHERE r.id = s.id""")


def _restore_original() -> None:
    with connect() as conn:
        conn.execute("""
            UPDATE review r SET status = s.status, published_at = s.published_at, released_by = s.released_by,
                   reminder_due_at = s.reminder_due_at, publish_at = s.publish_at
            FROM bench_saved s WHERE r.id = s.id""")
        conn.execute("DROP TABLE bench_saved")
        conn.commit()


def _raw_update(now: datetime, expected: int) -> float:
    with connect() as conn:
        t = time.perf_counter()
        cur = conn.execute("""
            UPDATE review SET status = 'published', published_at = %(now)s, released_by = 'system',
                   reminder_due_at = NULL
            WHERE status = 'held' AND publish_at <= %(now)s""", {"now": now})
        conn.commit()
        elapsed = time.perf_counter() - t
    if cur.rowcount != expected:
        raise RuntimeError(f"raw UPDATE changed {cur.rowcount} rows, expected {expected}")
    return elapsed


# The physical limit of the sweep: one hand-written statement that writes the very rows the sweep
# writes (the reviews' new state, their audit events, a notification per recipient with each
# one's preference, the businesses' listing versions), with nothing of the application around it:
# no batches, no Python, no round trips. Not a second sweep: only a yardstick for the real one.
RAW_FULL_SQL = """
WITH published AS (
    UPDATE review SET status = 'published', published_at = %(now)s, released_by = 'system',
           reminder_due_at = NULL
    WHERE status = 'held' AND publish_at <= %(now)s
    RETURNING id, business_id, author_id, stars, publish_at),
events AS (
    INSERT INTO review_event (review_id, actor_id, action, from_status, to_status, details, at)
    SELECT id, NULL, 'published', 'held', 'published', '{"released_by": "system"}', %(now)s
    FROM published ORDER BY publish_at, id),
recipients AS (
    SELECT p.id AS review_id, p.stars, p.publish_at, p.author_id AS recipient_id FROM published p
    UNION
    SELECT p.id, p.stars, p.publish_at, m.user_id FROM published p JOIN membership m ON m.business_id = p.business_id),
notes AS (
    INSERT INTO notification (dedupe_key, kind, recipient_id, review_id, facts, created_at, next_attempt_at,
                              email_status, attempts)
    SELECT 'review_published:' || r.review_id || ':' || r.recipient_id, 'review_published', r.recipient_id,
           r.review_id, json_build_object('stars', r.stars, 'publish_at', r.publish_at), %(now)s, %(now)s,
           CASE coalesce(np.delivery, 'email') WHEN 'email' THEN 'pending' WHEN 'digest' THEN 'digest'
                ELSE 'site_only' END, 0
    FROM recipients r
    LEFT JOIN notification_preference np ON np.user_id = r.recipient_id AND np.topic = 'review_published'
    ON CONFLICT (dedupe_key) DO NOTHING),
versions AS (
    UPDATE business SET listing_version = listing_version + 1
    WHERE id IN (SELECT DISTINCT business_id FROM published))
SELECT count(*) FROM published
"""


def _raw_full(now: datetime, expected: int) -> float:
    with connect() as conn:
        t = time.perf_counter()
        (count,) = conn.execute(RAW_FULL_SQL, {"now": now}).fetchone()
        conn.commit()
        elapsed = time.perf_counter() - t
    if count != expected:
        raise RuntimeError(f"raw full statement published {count} rows, expected {expected}")
    return elapsed


def _sweep(app, now: datetime) -> tuple[int, float, list[tuple[int, float]]]:
    """What tasks.sweeps.publish_due does, without its one-interval deadline."""
    from reviewsite.services import publication
    from reviewsite.unit_of_work import unit_of_work

    batch = app.config["SWEEP_BATCH_SIZE"]
    batches: list[tuple[int, float]] = []
    total = 0
    with app.app_context():
        t = time.perf_counter()
        while True:
            tb = time.perf_counter()
            with unit_of_work():
                ids = publication.publish_due(now=now, limit=batch)
            batches.append((len(ids), time.perf_counter() - tb))
            total += len(ids)
            if len(ids) < batch:
                break
        elapsed = time.perf_counter() - t
    return total, elapsed, batches


def _case(app, n: int, label: str, results: Results) -> dict:
    now = datetime.now(UTC)
    _drain(app, now)
    marks = _marks()
    count = _prepare(n, now)
    _vacuum()
    raw = _raw_update(now, count)
    with connect() as conn:
        _restore_due(conn)
        conn.commit()
    _vacuum()
    raw_full = _raw_full(now, count)
    _delete_written(marks)
    with connect() as conn:
        _restore_due(conn)
        conn.commit()
    _vacuum()
    published, swept, batches = _sweep(app, now)
    if published != count:
        raise RuntimeError(f"sweep published {published}, expected {count}")
    with connect() as conn:
        outbox = conn.execute("SELECT count(*) FROM notification WHERE id > %s", (marks[0],)).fetchone()[0]
    _restore_original()
    _delete_written(marks)
    _vacuum()
    log(f"{label}: {count} due, raw UPDATE {raw:.2f}s, raw statement writing every row {raw_full:.2f}s, "
        f"sweep {swept:.2f}s ({outbox} outbox rows)")
    results.add(f"{label}_due_rows", count)
    results.add(f"{label}_raw_update_s", raw)
    results.add(f"{label}_raw_full_s", raw_full)
    results.add(f"{label}_vs_raw_full", swept / raw_full)
    results.add(f"{label}_sweep_s", swept)
    results.add(f"{label}_outbox_rows", outbox)
    results.add(f"{label}_sweep_ms_per_row", swept * 1000 / count)
    results.add(f"{label}_vs_raw", swept / raw)
    return {"count": count, "raw": raw, "sweep": swept, "batches": batches}


def _drain(app, now: datetime) -> int:
    """Publish whatever the data set already has due (beat would have), so idle means idle."""
    _, _, batches = _sweep(app, now)
    return sum(n for n, _ in batches)


def _idle(app, now: datetime, runs: int, results: Results) -> None:
    from sqlalchemy import event

    from reviewsite.extensions import db
    from reviewsite.services import publication
    from reviewsite.unit_of_work import unit_of_work

    batch = app.config["SWEEP_BATCH_SIZE"]
    timings = []
    with app.app_context():
        for _ in range(runs):
            t = time.perf_counter()
            with unit_of_work():
                ids = publication.publish_due(now=now, limit=batch)
            timings.append((time.perf_counter() - t) * 1000)
            if ids:
                raise RuntimeError("idle sweep found due rows")
        captured: list[tuple[str, object]] = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            if "FROM review" in statement and not captured:  # the sweep's first read: what an idle one runs
                captured.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            with unit_of_work():
                publication.publish_due(now=now, limit=batch)
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        statement, parameters = captured[0]
        with unit_of_work() as session:
            plan = session.connection().exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
    results.add("idle_sweep_ms", statistics.median(timings))
    results.add("idle_sweep_p90_ms", sorted(timings)[int(len(timings) * 0.9)])
    results.note("idle_sweep_sql", statement)
    results.note("idle_sweep_explain", "\n".join(plan))
    log("idle sweep plan:\n" + "\n".join(plan))


def run(p: Profile, results: Results) -> None:
    configure_in_process()
    from reviewsite import create_app

    app = create_app()
    now = datetime.now(UTC)
    drained = _drain(app, now)
    log(f"drained {drained} reviews already due in the data set")
    _vacuum(index_cleanup=False)
    _idle(app, now, 200, results)
    small = _case(app, p.due_small, "sweep_10k", results)
    big = _case(app, p.backlog, "sweep_100k", results)
    per_small = small["sweep"] / small["count"]
    per_big = big["sweep"] / big["count"]
    results.add("sweep_per_row_growth", per_big / per_small)
    full = [t / n for n, t in big["batches"] if n]
    k = max(1, len(full) // 10)
    results.add("sweep_100k_last_vs_first_batches", statistics.mean(full[-k:]) / statistics.mean(full[:k]))
    results.note("sweep_100k_batch_ms", ", ".join(f"{t * 1000:.0f}" for _, t in big["batches"][:: max(1, len(big['batches']) // 20)]))
