"""Where the time goes (development aid, not part of bench/run): in-process requests through the
Flask test client against the loaded reviewsite_bench, with SQL timings per statement, and an
optional pyinstrument profile. Usage, after bench/run has loaded the data:

    .venv/bin/python -m bench.profile [business|search|submit|sweep] [--pyinstrument]
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime

from bench.common import PASSWORD, WORK, configure_in_process


class SqlStats(defaultdict):
    """Statements and their timings, while ``recording`` (the submission records its POST only,
    not the GET that fetches the form's CSRF token)."""

    def __init__(self) -> None:
        super().__init__(list)
        self.recording = True


def sql_timer(engine):
    from sqlalchemy import event

    stats = SqlStats()
    starts: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        starts.append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        elapsed = time.perf_counter() - starts.pop()
        if stats.recording:
            stats[re.sub(r"\s+", " ", statement)[:160]].append(elapsed)

    return stats


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "business"
    configure_in_process()
    from bench.wsgi import app
    from reviewsite.extensions import db

    dataset = json.loads((WORK / "dataset.json").read_text())
    with app.app_context():
        engine = db.engine
    stats = sql_timer(engine)
    client = app.test_client()
    n = 20
    if what == "business":
        paths = [f"/b/{dataset['popular_slug']}"] * n
    elif what == "search":
        paths = [f"/businesses?q={dataset['search_q']}&city={dataset['search_city']}"] * n
    elif what == "submit":
        import random

        user = dataset["spare_start"] + random.randrange(1100, dataset["spare_count"])
        html = client.get("/login").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        r = client.post("/login", data={"csrf_token": token, "email": f"u{user}@bench.example.com", "password": PASSWORD})
        assert r.status_code == 302, r.status_code
        paths = None
    if what == "sweep":
        from reviewsite.services import publication
        from reviewsite.unit_of_work import unit_of_work

        with app.app_context(), unit_of_work() as session:
            # One batch on a savepoint-free transaction, rolled back: make 500 due, publish them.
            session.execute(db.text("UPDATE review SET publish_at = now() - interval '1 minute' WHERE id IN "
                                    "(SELECT id FROM review WHERE status = 'held' ORDER BY id LIMIT 500)"))
            stats.clear()
            t = time.perf_counter()
            runner(lambda: publication.publish_due(now=datetime.now(UTC), limit=500), "--pyinstrument" in sys.argv)
            total = time.perf_counter() - t
            session.rollback()
        report(stats, total, 500, "review")
        return
    slugs = []
    with app.app_context():
        slugs = list(db.session.scalars(db.text("SELECT slug FROM business WHERE id > 1 ORDER BY id DESC LIMIT 40")))

    def one(i: int) -> None:
        if paths is not None:
            r = client.get(paths[i])
            assert r.status_code == 200, r.status_code
        else:
            slug = slugs[i]
            stats.recording = False
            html = client.get(f"/b/{slug}/review").text
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
            stats.recording = True
            t0 = time.perf_counter()
            r = client.post(f"/b/{slug}/review", data={"csrf_token": token, "stars": "2", "title": "Profile",
                                                       "body": "Profiling the submission."})
            timings.append(time.perf_counter() - t0)
            assert r.status_code == 302, (r.status_code, r.text[:2000])

    timings: list[float] = []
    one(0)  # warm-up
    stats.clear()
    t = time.perf_counter()
    runner(lambda: [one(i) for i in range(1, n)], "--pyinstrument" in sys.argv)
    total = time.perf_counter() - t
    report(stats, sum(timings) if timings else total, n - 1, "request")


def runner(fn, with_profiler: bool) -> None:
    if not with_profiler:
        fn()
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    fn()
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


def report(stats, total: float, n: int, unit: str) -> None:
    sql = sum(sum(v) for v in stats.values())
    count = sum(len(v) for v in stats.values())
    print(f"{total / n * 1000:.2f} ms per {unit}; SQL {sql / n * 1000:.2f} ms in {count / n:.1f} statements per {unit}")
    for key, values in sorted(stats.items(), key=lambda kv: -sum(kv[1]))[:12]:
        print(f"  {sum(values) / n * 1000:7.2f} ms/{unit}  x{len(values) / n:.1f}  {key}")


if __name__ == "__main__":
    main()
