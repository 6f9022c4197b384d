"""Real Celery worker (2 processes) and beat against the bench database, Redis db 14 and an SMTP
sink: publication lateness, notification throughput against a no-op task, worker peak memory."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import redis
from celery import Celery

from bench.common import (BROKER_URL, SWEEP_INTERVAL_SECONDS, VENV_BIN, WORK, Profile, Results, app_env,
                          children, connect, free_port, log, percentile, start, stop, vm_hwm_mb, wait_for_port)
from bench.web import SESSION_USERS

# The production path: after a commit, one message carries a batch of outbox ids.
DELIVER_BATCH_TASK = "reviewsite.deliver_notifications"
BATCH = 50


def _wait_ready(logfile, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if logfile.exists() and "ready." in logfile.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"celery worker not ready after {timeout}s; see {logfile}")


def _quiet_outbox() -> None:
    """Earlier phases left pending mail (reviews written by the web run, the drained sweep): count
    it as sent so that only this phase's mail is in flight, and empty our Redis db."""
    with connect() as conn:
        conn.execute("UPDATE notification SET email_status = 'sent', sent_at = now() WHERE email_status = 'pending'")
        conn.commit()
    redis.Redis.from_url(BROKER_URL).flushdb()


def _lateness(p: Profile, dataset: dict, results: Results) -> None:
    first_author = dataset["spare_start"] + SESSION_USERS
    n = p.lateness_reviews
    if first_author + n > dataset["spare_start"] + dataset["spare_count"]:
        raise RuntimeError("not enough spare users for the lateness run")
    with connect() as conn:  # a rerun on the same data set (bench.main --skip-load): remove the last probe
        old = "SELECT id FROM review WHERE author_id >= %s AND author_id < %s"
        span = (first_author, first_author + n)
        conn.execute(f"DELETE FROM notification WHERE review_id IN ({old})", span)
        conn.execute(f"DELETE FROM review_event WHERE review_id IN ({old})", span)
        conn.execute("""UPDATE business b SET rating_count = b.rating_count - r.n, rating_sum = b.rating_sum - r.s
                        FROM (SELECT business_id, count(*) AS n, sum(stars) AS s FROM review
                              WHERE author_id >= %s AND author_id < %s GROUP BY business_id) r
                        WHERE r.business_id = b.id""", span)
        conn.execute("DELETE FROM review WHERE author_id >= %s AND author_id < %s", span)
        conn.commit()
    start_at = datetime.now(UTC) + timedelta(seconds=5)
    rows = []
    for i in range(n):
        publish_at = start_at + timedelta(seconds=60 * i / n)
        business = 2 + (i * 13) % (dataset["businesses"] - 1)
        stars = 1 + i % 3
        rows.append((business, first_author + i, stars, publish_at))
    with connect() as conn, conn.cursor() as cur:
        now = datetime.now(UTC)
        cur.executemany(
            """INSERT INTO review (business_id, author_id, stars, title, body, status, created_at, held_at,
                                   publish_at, extended_seconds, reminders_sent)
               VALUES (%s, %s, %s, 'Lateness probe', 'A held review for the lateness run.', 'held', %s, %s, %s, 0, 0)""",
            [(b, a, s, now, now, at) for b, a, s, at in rows])
        cur.executemany("UPDATE business SET rating_count = rating_count + 1, rating_sum = rating_sum + %s WHERE id = %s",
                        [(s, b) for b, _, s, _ in rows])
        conn.commit()
    log(f"lateness: {n} held reviews released over the next minute (from {start_at:%H:%M:%S})")
    deadline = time.monotonic() + 5 + 60 + 120
    authors = (first_author, first_author + n)
    while time.monotonic() < deadline:
        with connect() as conn:
            left = conn.execute("SELECT count(*) FROM review WHERE author_id >= %s AND author_id < %s "
                                "AND status = 'held'", authors).fetchone()[0]
        if left == 0:
            break
        time.sleep(1)
    with connect() as conn:
        late = [r[0] for r in conn.execute(
            "SELECT extract(epoch FROM published_at - publish_at) FROM review "
            "WHERE author_id >= %s AND author_id < %s AND status = 'published'", authors)]
        early = conn.execute("SELECT count(*) FROM review WHERE author_id >= %s AND author_id < %s "
                             "AND published_at < publish_at", authors).fetchone()[0]
    late = [float(x) for x in late]
    results.add("lateness_published", len(late))
    results.add("lateness_not_published", n - len(late))
    results.add("lateness_published_early", early)
    results.add("lateness_p50_s", percentile(late, 50))
    results.add("lateness_p99_s", percentile(late, 99))
    results.add("lateness_max_s", max(late) if late else float("nan"))


def _drain_mail(timeout: float = 180) -> None:
    """Wait for the mail of the lateness run to be sent and the queue to be empty."""
    r = redis.Redis.from_url(BROKER_URL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connect() as conn:
            pending = conn.execute("SELECT count(*) FROM notification WHERE email_status = 'pending'").fetchone()[0]
        if pending == 0 and r.llen("celery") == 0:
            return
        time.sleep(0.5)
    log("warning: mail of the lateness run still pending")


def pending_notices(n: int, *, prefix: str) -> list[int]:
    """N pending "review_published" notices for the first N published reviews, written as the site
    writes them (services/outbox.py): the review's stars and release time in the notice's own
    columns, no facts of its own. Their dedupe keys start with ``prefix``."""
    with connect() as conn:
        now = datetime.now(UTC)
        ids = [row[0] for row in conn.execute(
            """INSERT INTO notification (dedupe_key, kind, recipient_id, review_id, review_stars, review_publish_at,
                                         facts, created_at, email_status, attempts, next_attempt_at)
               SELECT %(prefix)s || ':' || r.id || ':' || %(t)s, 'review_published', r.author_id, r.id, r.stars,
                      r.publish_at, '{}', %(now)s, 'pending', 0, %(now)s
               FROM (SELECT * FROM review WHERE status = 'published' AND held_at IS NOT NULL
                     ORDER BY id LIMIT %(n)s) r
               RETURNING id""", {"n": n, "now": now, "t": time.time_ns(), "prefix": prefix})]
        conn.commit()
    return ids


def _throughput(p: Profile, dataset: dict, results: Results) -> None:
    sender = Celery(broker=BROKER_URL)
    sender.conf.update(task_serializer="json", broker_transport_options={"visibility_timeout": 300})
    r = redis.Redis.from_url(BROKER_URL)
    n = p.notifications

    r.set("bench:noop", 0)
    t = time.perf_counter()
    for _ in range(n):
        sender.send_task("bench.noop")
    deadline = time.monotonic() + 300
    while int(r.get("bench:noop") or 0) < n:
        if time.monotonic() > deadline:
            raise RuntimeError("no-op tasks not done after 300 s; see bench/.work/worker.log")
        time.sleep(0.01)
    noop_s = time.perf_counter() - t

    ids = pending_notices(n, prefix="bench")
    t = time.perf_counter()
    deadline = time.monotonic() + 300
    for start in range(0, len(ids), BATCH):
        sender.send_task(DELIVER_BATCH_TASK, args=[ids[start : start + BATCH]])
    while time.monotonic() < deadline:
        with connect() as conn:
            sent = conn.execute("SELECT count(*) FROM notification WHERE id = ANY(%s) AND email_status = 'sent'",
                                (ids,)).fetchone()[0]
        if sent >= len(ids):
            break
        time.sleep(0.02)
    else:
        raise RuntimeError(f"only {sent} of {len(ids)} notifications sent after 300 s; see bench/.work/worker.log")
    mail_s = time.perf_counter() - t
    results.add("noop_tasks_per_s", n / noop_s)
    results.add("notifications_per_s", len(ids) / mail_s)
    results.add("notification_vs_noop", (len(ids) / mail_s) / (n / noop_s))


def run(p: Profile, dataset: dict, results: Results) -> None:
    _quiet_outbox()
    smtp_port = free_port()
    env = app_env(MAIL_PORT=str(smtp_port))
    procs = {}
    try:
        procs["smtp"] = start([str(VENV_BIN / "python"), "-m", "bench.smtp_sink", str(smtp_port)], "smtp_sink", env)
        wait_for_port(smtp_port)
        worker_log = WORK / "worker.log"
        worker_log.unlink(missing_ok=True)
        procs["worker"] = start([str(VENV_BIN / "celery"), "--app", "bench.celery_bench:celery_app", "worker",
                                 "--loglevel", "INFO", "--concurrency", "2"], "worker", env)
        _wait_ready(worker_log)
        (WORK / "instance" / "celerybeat-schedule").unlink(missing_ok=True)
        procs["beat"] = start([str(VENV_BIN / "celery"), "--app", "tasks.celery_app", "beat", "--loglevel", "INFO"],
                              "beat", env)
        log(f"worker and beat running (sweep every {SWEEP_INTERVAL_SECONDS}s)")
        _lateness(p, dataset, results)
        stop(procs.pop("beat"))
        _drain_mail()
        _throughput(p, dataset, results)
        worker = procs["worker"]
        pids = [worker.pid, *children(worker.pid)]
        peaks = {pid: vm_hwm_mb(pid) for pid in pids}
        results.add("celery_worker_peak_rss_mb", max(m for m in peaks.values() if m is not None))
        results.note("celery_workers", "VmHWM " + ", ".join(
            f"{'main' if pid == worker.pid else 'pool'} {m:.0f}" for pid, m in peaks.items() if m is not None) + " MB")
    finally:
        for proc in procs.values():
            stop(proc)
