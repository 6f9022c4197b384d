"""The chaos run: the whole production shape as real local processes, real traffic, real faults.

    .venv/bin/python -m tests.chaos.run --profile quick     # a few hundred reviews, ~3 minutes (CI)
    .venv/bin/python -m tests.chaos.run --profile full      # >= 2,000 reviews, ~10 minutes

It starts a PostgreSQL cluster and a Redis server of its own (free ports, a temporary folder: the
machine's shared servers are never touched), an SMTP sink that refuses or stalls a share of
attempts, gunicorn, two Celery workers, the two timers workers and beat, exactly as in the
Procfile, under a supervisor that starts any of them again a second after it exits (as the
README's deployment asks). It submits reviews over HTTP with logged-in sessions (most of them
low-star, so held), withdraws or releases some of them, and meanwhile injects faults: SIGKILL of
worker processes (while they publish, while they send mail, anywhere, whole workers), SIGKILL of
beat and a period with two beats, Redis restarted empty and Redis paused, PostgreSQL connections
terminated and one PostgreSQL restart.

Then it waits for recovery, checks the invariants of DESIGN.md against the database and the mail
the sink accepted, says which fault and which outage each late publication overlapped (late:
more than the sweep interval plus 3 s), and prints one summary line, last:

    chaos: reviews=... acknowledged=... persisted=... faults=... early=... duplicate_publications=...
    published_after_withdraw=... stuck=... missing_notifications=... duplicate_emails=...
    send_phase_kills=... lateness_p50=...s lateness_p99=...s lateness_max=...s recovery=...s

The exit status is 1 if a review acknowledged over HTTP was lost, a review was published early or
twice or after its withdrawal was acknowledged, a held review is overdue, a notification the events
call for never reached the SMTP server, or more emails were duplicated than there were SIGKILLs of
a worker in the middle of sending (a crash may cost one duplicate, with the same Message-ID).
``--keep`` keeps the temporary folder (logs of every process) for a post-mortem.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.chaos.client import Session
from tests.chaos.servers import (
    VENV_BIN,
    Fleet,
    Supervisor,
    Postgres,
    Proc,
    Redis,
    free_port,
    pids_connected,
    port_open,
    wait_until,
)
from tests.chaos.sink import ChaosHandler, ChaosSink
from tests.timetable import Timetable

SITE_URL = "http://chaos.test"
MESSAGE_ID_DOMAIN = "chaos.test"
PASSWORD = "chaos-password-123"
SWEEP_INTERVAL_SECONDS = 1
# Invariant 3: a held review leaves `held` by publish_at plus the sweep interval and a few seconds.
STUCK_GRACE_SECONDS = SWEEP_INTERVAL_SECONDS + 5
# A notification still pending this long after it was written is "not yet recovered".
NOTIFICATION_SETTLE_SECONDS = 20
MAIL_TIMEOUT_SECONDS = 2
# A killed sender's mail waits for its lease to run out; the delivery tasks' time limit follows
# the lease (reviewsite/config.py), and 30 s leaves room for a batch at this mail timeout.
MAIL_LEASE_SECONDS = 30
# As the Procfile's supervisor (README): a process that exits is started again after this delay.
RESTART_DELAY_SECONDS = 1.0

# Settings that must not leak in from the operator's shell.
SETTINGS = (
    "DATABASE_URL", "CELERY_BROKER_URL", "REVIEWSITE_INSTANCE_DIR", "REVIEWSITE_ENV", "HOST", "PORT", "TRUSTED_PROXIES",
    "MAIL_SERVER", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS", "MAIL_FROM",
    "MAIL_BACKOFF_BASE_SECONDS", "MAIL_MAX_ATTEMPTS", "MAIL_TIMEOUT_SECONDS", "MAIL_LEASE_SECONDS", "LOW_STAR_MAX", "WINDOW_SECONDS",
    "MAX_EXTENSION_SECONDS", "SWEEP_INTERVAL_SECONDS", "SWEEP_BATCH_SIZE", "MESSAGE_GATHER_SECONDS",
    "DIGEST_HOUR_UTC", "SITE_URL", "SECRET_KEY", "RATELIMIT_STORAGE_URI", "RATELIMIT_ENABLED",
    "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS", "DATABASE_STATEMENT_TIMEOUT_SECONDS", "DATABASE_DEAD_PEER_SECONDS",
    "DATABASE_CONNECT_TIMEOUT_SECONDS", "CACHE_TYPE", "CACHE_REDIS_URL",
)


@dataclass(frozen=True)
class Profile:
    name: str
    reviews: int
    reviewers: int
    businesses: int
    traffic_seconds: float
    window_seconds: int
    client_threads: int
    faults: dict[str, int]
    send_kills_by: float  # fraction of the traffic time by which send-phase kills are done
    kills_by: float  # ... and every other worker kill (a killed sender's lease holds its mail)
    two_beats_seconds: float
    recovery_timeout: float
    low_star_share: float = 0.8
    withdraw_share: float = 0.12
    release_share: float = 0.12


PROFILES = {
    "quick": Profile(
        name="quick", reviews=300, reviewers=30, businesses=12, traffic_seconds=75, window_seconds=20,
        client_threads=6,
        faults={"kill_send": 2, "kill_publish": 2, "kill_child": 2, "kill_worker": 1, "kill_beat": 1,
                "two_beats": 1, "redis_restart": 1, "redis_pause": 1, "pg_terminate": 2, "pg_restart": 1},
        send_kills_by=0.3, kills_by=0.4, two_beats_seconds=12, recovery_timeout=150,
    ),
    "full": Profile(
        name="full", reviews=2000, reviewers=80, businesses=30, traffic_seconds=420, window_seconds=90,
        client_threads=8,
        faults={"kill_send": 7, "kill_publish": 6, "kill_child": 7, "kill_worker": 4, "kill_beat": 2,
                "two_beats": 1, "redis_restart": 2, "redis_pause": 2, "pg_terminate": 4, "pg_restart": 1},
        send_kills_by=0.8, kills_by=0.85, two_beats_seconds=40, recovery_timeout=240,
    ),
}

WORKER_KILLS = {"kill_send", "kill_publish", "kill_child", "kill_worker"}


# --------------------------------------------------------------------------- output


T0 = time.monotonic()
T0_WALL = time.time()  # the same instant on the wall clock, which the database's timestamps use


def say(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", flush=True)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(share * (len(ordered) - 1)))))
    return ordered[index]


def message_id(notification_id: int, dedupe_key: str) -> str:
    """As reviewsite.notifications.rendering.message_id_for derives it from the outbox row."""
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:16]
    return f"<n{notification_id}.{digest}@{MESSAGE_ID_DOMAIN}>"


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    profile: Profile
    tmp: Path
    rng: random.Random
    pg: Postgres
    redis: Redis
    sink: ChaosSink
    fleet: Fleet
    env: dict[str, str]
    supervisor: Supervisor | None = None
    slugs: dict[int, str] = field(default_factory=dict)  # business id -> slug
    reviewers: list[tuple[int, str]] = field(default_factory=list)  # (user id, email)
    sessions: dict[int, Session] = field(default_factory=dict)
    crashes: list[tuple[str, int | None, float]] = field(default_factory=list)  # exits nobody caused

    @property
    def sink_port(self) -> int:
        return self.sink.port


def build_env(tmp: Path, pg: Postgres, redis: Redis, sink_host: str, sink_port: int, window: int, *,
              mail_lease: int = MAIL_LEASE_SECONDS) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update({
        "REVIEWSITE_ENV": "production",
        "DATABASE_URL": pg.url(),
        "CELERY_BROKER_URL": redis.url(),
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_ENABLED": "false",
        "MAIL_SERVER": sink_host,
        "MAIL_PORT": str(sink_port),
        "MAIL_TIMEOUT_SECONDS": str(MAIL_TIMEOUT_SECONDS),
        "MAIL_LEASE_SECONDS": str(mail_lease),
        "MAIL_BACKOFF_BASE_SECONDS": "1",
        "SWEEP_INTERVAL_SECONDS": str(SWEEP_INTERVAL_SECONDS),
        "SECRET_KEY": "chaos-run-secret-key-of-forty-characters",
        "SITE_URL": SITE_URL,
        "REVIEWSITE_INSTANCE_DIR": str(tmp / "instance"),
        "MESSAGE_GATHER_SECONDS": "5",
        "WINDOW_SECONDS": str(window),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def seed(world: World) -> None:
    """Confirmed reviewers and businesses (an owner each, staff for some), through the services,
    in an app built from the same environment as the processes."""
    os.environ.clear()
    os.environ.update(world.env)
    from reviewsite import create_app
    from reviewsite.clock import now_utc
    from reviewsite.extensions import db
    from reviewsite.models import MemberRole
    from reviewsite.services import accounts, businesses, team
    from reviewsite.unit_of_work import unit_of_work
    from tests.helpers import verify_owner

    app = create_app()
    # The seed's own notices are delivered by the outbox sweep; this process sends no messages.
    app.extensions["celery"].conf.broker_url = "memory://"
    profile = world.profile
    with app.app_context():
        now = now_utc()

        def confirmed(email: str, name: str):
            user = accounts.register(email=email, password=PASSWORD, display_name=name, now=now)
            accounts.confirm_email(user, now=now)
            return user

        with unit_of_work():
            for index in range(profile.businesses):
                owner = confirmed(f"owner{index}@example.com", f"Owner {index}")
                business = businesses.create_business(
                    owner, name=f"Chaos Cafe {index}", category="Cafe", city="Leeds",
                    address=f"{index} High Street", description="Soup and chaos.",
                    website=f"https://chaos-cafe-{index}.example", despite_duplicates=True, now=now)
                verify_owner(business, owner, now=now)
                world.slugs[business.id] = business.slug
                if index % 3 == 0:
                    staff = confirmed(f"staff{index}@example.com", f"Staff {index}")
                    team.add_member(business, staff, MemberRole.STAFF, now=now, via="seed", actor_id=owner.id)
            for index in range(profile.reviewers):
                user = confirmed(f"reviewer{index}@example.com", f"Reviewer {index}")
                world.reviewers.append((user.id, user.email))
        db.session.remove()
        db.engine.dispose()


# --------------------------------------------------------------------------- traffic


@dataclass
class Ledger:
    """What the site told the clients: the ground truth for the checks."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[str] = field(default_factory=Counter)
    submitted: int = 0  # distinct reviews attempted
    acknowledged: dict[int, tuple[int, int]] = field(default_factory=dict)  # review id -> (author, business)
    held: dict[int, float] = field(default_factory=dict)  # review id -> wall time of acknowledgement
    withdraw_acked: set[int] = field(default_factory=set)
    released: set[int] = field(default_factory=set)
    gave_up: int = 0
    unclear_errors: list[str] = field(default_factory=list)

    def count(self, key: str) -> None:
        with self.lock:
            self.statuses[key] += 1


class Traffic:
    """A timetable of HTTP actions run by a small pool of client threads."""

    def __init__(self, world: World, ledger: Ledger) -> None:
        self.world = world
        self.ledger = ledger
        self.profile = world.profile
        self.rng = random.Random(world.rng.random())
        self.timetable = Timetable(self.profile.client_threads, self._run, ledger.unclear_errors)
        self.schedule = self.timetable.schedule
        self.idle = self.timetable.idle
        self.pending = self.timetable.pending
        self.stop = self.timetable.stop

    def start(self, pairs: list[tuple[int, int]]) -> None:
        start = time.monotonic()
        times = sorted(self.rng.uniform(0, self.profile.traffic_seconds) for _ in pairs)
        for at, pair in zip(times, pairs):
            self.schedule(start + at, ("submit", pair, 1))
        self.timetable.start()

    def _retry(self, job: tuple, attempt: int, *, limit: int = 8) -> bool:
        if attempt >= limit:
            return False
        kind, subject, _ = job
        self.schedule(time.monotonic() + self.rng.uniform(1.0, 3.0), (kind, subject, attempt + 1))
        return True

    def _post(self, session: Session, path: str, form: dict[str, object]) -> tuple[str, object]:
        try:
            resp = session.request("POST", path, {"csrf_token": session.csrf, **form})
        except OSError as exc:  # connection refused/reset, timeout: nobody said success
            self.ledger.count(f"conn:{type(exc).__name__}")
            session.fail_over()
            return "retry", None
        self.ledger.count(f"http:{resp.status}")
        if resp.status >= 500:
            session.fail_over()
        if resp.status == 503:
            if "Try again in a moment" not in resp.body:
                self.ledger.unclear_errors.append(f"503 without the clear page on {path}")
            return "retry", resp
        if resp.status >= 500:
            self.ledger.unclear_errors.append(f"HTTP {resp.status} on POST {path}")
            return "retry", resp
        return "answer", resp

    def _run(self, job: tuple) -> None:
        kind, subject, attempt = job
        ledger, profile, rng = self.ledger, self.profile, self.rng
        if kind == "submit":
            author, business = subject
            if attempt == 1:
                with ledger.lock:
                    ledger.submitted += 1
            low = rng.random() < profile.low_star_share
            stars = rng.randint(1, 3) if low else rng.randint(4, 5)
            session = self.world.sessions[author]
            outcome, resp = self._post(session, f"/b/{self.world.slugs[business]}/review", {
                "stars": stars, "title": f"Visit {author}-{business}",
                "body": f"Chaos review by {author} of {business}. " * 3,
            })
            if outcome == "retry":
                if not self._retry(job, attempt):
                    with ledger.lock:
                        ledger.gave_up += 1
                return
            if resp.status == 302 and resp.location_path.startswith("/reviews/"):
                review_id = int(resp.location_path.rsplit("/", 1)[1])
                with ledger.lock:
                    ledger.acknowledged[review_id] = (author, business)
                if stars <= 3:
                    now = time.time()
                    with ledger.lock:
                        ledger.held[review_id] = now
                    window = profile.window_seconds
                    draw = rng.random()
                    if draw < profile.withdraw_share:
                        self.schedule(time.monotonic() + rng.uniform(1.0, max(window - 4, 2)), ("withdraw", review_id, 1))
                    elif draw < profile.withdraw_share + profile.release_share:
                        self.schedule(time.monotonic() + rng.uniform(1.0, max(window - 4, 2)), ("release", review_id, 1))
                return
            # 422 "already reviewed" after an unanswered attempt: saved, but never acknowledged.
            ledger.count(f"submit-refused:{resp.status}")
            return
        review_id = subject
        author, _ = self.ledger.acknowledged[review_id]
        session = self.world.sessions[author]
        outcome, resp = self._post(session, f"/reviews/{review_id}/{kind}", {})
        if outcome == "retry":
            held_at = ledger.held[review_id]
            if time.time() < held_at + profile.window_seconds - 3:
                self._retry(job, attempt)
            return
        if kind == "withdraw" and resp.status == 302 and resp.location_path == "/me/reviews":
            with ledger.lock:
                ledger.withdraw_acked.add(review_id)
        elif kind == "release" and resp.status == 302:
            with ledger.lock:
                ledger.released.add(review_id)
        else:
            ledger.count(f"{kind}-refused:{resp.status}")


# --------------------------------------------------------------------------- faults


PUBLICATION_SQL = (
    "SELECT client_port FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND xact_start IS NOT NULL AND client_port IS NOT NULL AND ("
    " (query ILIKE 'UPDATE review SET%' AND query ILIKE '%published_at%')"
    " OR (query ILIKE '%FROM review%' AND query ILIKE '%review.publish_at <=%' AND query ILIKE '%FOR UPDATE%')"
    " OR (query ILIKE 'INSERT INTO review_event%'))"
)


@dataclass
class FaultRecord:
    """One injected fault: wall-clock start and end (the end of the action, e.g. the restarted
    process running again), and the process it hit."""

    number: int
    kind: str
    target: str
    start: float
    end: float
    detail: str = ""

    @property
    def label(self) -> str:
        return f"{self.kind}[{self.target}]" if self.target else self.kind


class Faults:
    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = random.Random(world.rng.random())
        self.records: list[FaultRecord] = []
        self._targets = threading.local()  # the process a fault hit, per fault thread
        self._lock = threading.Lock()
        self.done: Counter[str] = Counter()
        self.send_phase_kills = 0
        self.last_fault_end = time.monotonic()
        self.log: list[str] = []
        self.errors: list[str] = []
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._pending_beat: Proc | None = None

    @property
    def total(self) -> int:
        return sum(self.done.values())

    @property
    def worker_kills(self) -> int:
        return sum(n for k, n in self.done.items() if k in WORKER_KILLS)

    def plan(self) -> list[tuple[float, str]]:
        profile = self.world.profile
        span = profile.traffic_seconds
        plan: list[tuple[float, str]] = []

        def spread(kinds: list[str], start: float, end: float) -> None:
            self.rng.shuffle(kinds)
            step = (end - start) * span / max(len(kinds), 1)
            for index, kind in enumerate(kinds):
                plan.append((start * span + step * (index + self.rng.uniform(0.2, 0.8)), kind))

        sends = ["kill_send"] * profile.faults.get("kill_send", 0)
        fixed = {"pg_restart": 0.5, "redis_restart": 0.35, "two_beats": 0.6}
        kills, others = [], []
        for kind, count in profile.faults.items():
            if kind == "kill_send":
                continue
            for n in range(count):
                if n == 0 and kind in fixed:
                    plan.append((fixed[kind] * span, kind))
                else:
                    (kills if kind in WORKER_KILLS else others).append(kind)
        spread(sends, 0.04, profile.send_kills_by)
        spread(kills, 0.06, profile.kills_by)
        spread(others, 0.08, 0.85)
        return sorted(plan)

    def plans(self) -> list[list[tuple[float, str]]]:
        """Timelines of faults that run side by side (each in order, one fault after another)."""
        return [self.plan()]

    def run(self, start: float) -> None:
        try:
            lines = [threading.Thread(target=self.run_plan, args=(plan, start), name=f"faults{i}", daemon=True)
                     for i, plan in enumerate(self.plans())]
            for line in lines:
                line.start()
            for line in lines:
                line.join()
            if self._pending_beat is not None:  # end of the two-beats period
                self._stop_second_beat()
            # The SMTP server's refusals and stalls are a fault too: they end with the others.
            self.world.sink.handler.enabled = False
            self.last_fault_end = time.monotonic()
        finally:
            self.finished.set()

    def run_plan(self, plan: list[tuple[float, str]], start: float) -> None:
        """Inject each fault of ``plan`` at its time (seconds after ``start``), one after the
        other; a fault that takes a while (a pause, a partition) delays the next ones."""
        for at, kind in plan:
            delay = start + at - time.monotonic()
            if self._stop.wait(max(delay, 0)):
                return
            began = time.time()
            self.target = ""
            try:
                detail = getattr(self, kind)()
            except Exception as exc:  # noqa: BLE001 - report, keep going
                self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
                say(f"fault {kind} failed: {exc}")
                continue
            with self._lock:
                self.done[kind] += 1
                self.last_fault_end = time.monotonic()
                record = FaultRecord(self.total, kind, self.target, began, time.time(), detail)
                if kind == "two_beats":
                    record.end = began + self.world.profile.two_beats_seconds
                self.records.append(record)
            say(f"fault #{record.number} {kind}: {detail}")

    @property
    def target(self) -> str:
        return getattr(self._targets, "value", "")

    @target.setter
    def target(self, value: str) -> None:
        self._targets.value = value

    @property
    def duplicate_allowance(self) -> int:
        """How many duplicate emails the faults may cost: one per process stopped or killed in the
        middle of an SMTP conversation (it may have been accepted but not recorded)."""
        return self.send_phase_kills

    def stop(self) -> None:
        self._stop.set()

    # ---- worker kills

    def _alive_workers(self) -> list[Proc]:
        return [w for w in self.world.fleet.workers if w.alive()]

    def _children(self) -> list[int]:
        return [pid for worker in self._alive_workers() for pid in worker.children()]

    def _kill_pids(self, pids: list[int], why: str) -> str:
        owners = {pid: worker.name for worker in self.world.fleet.workers for pid in worker.group_pids()}
        self.target = ",".join(sorted({owners.get(pid, "?") for pid in pids}))
        mid_send = pids_connected(pids, remote_port=self.world.sink_port)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Each process killed in the middle of an SMTP conversation may cost one duplicate.
        with self._lock:
            self.send_phase_kills += len(mid_send)
        return f"SIGKILL {why} pid {','.join(map(str, pids))}{' (mid-send)' if mid_send else ''}"

    def _random_child(self, why: str) -> str:
        children = self._children()
        if not children:
            wait_until(lambda: self._children(), timeout=20, what="a worker child to kill")
            children = self._children()
        return self._kill_pids([self.rng.choice(children)], why)

    def kill_send(self) -> str:
        """Wait for a worker process that holds an SMTP connection to the sink, and kill it."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            candidates = pids_connected(self.world.fleet.worker_pids(), remote_port=self.world.sink_port)
            if candidates:
                return self._kill_pids([self.rng.choice(sorted(candidates))], "sending worker")
            time.sleep(0.01)
        return self._random_child("worker child (no send in flight)")

    def kill_publish(self) -> str:
        """Wait for a worker whose database transaction is publishing, and kill it."""
        deadline = time.monotonic() + 10
        conn = self.world.pg.connect()
        try:
            while time.monotonic() < deadline:
                ports = {row[0] for row in conn.execute(PUBLICATION_SQL).fetchall()}
                if ports:
                    victims = pids_connected(self.world.fleet.worker_pids(), local_ports=ports)
                    if victims:
                        return self._kill_pids([self.rng.choice(sorted(victims))], "publishing worker")
                time.sleep(0.01)
        finally:
            conn.close()
        return self._random_child("worker child (no publication in flight)")

    def kill_child(self) -> str:
        return self._random_child("worker child")

    def kill_worker(self) -> str:
        """A whole worker (leader and children) at once; the supervisor starts it again."""
        worker = self.rng.choice(self._alive_workers())
        pids = worker.group_pids()
        detail = self._kill_pids(pids, f"whole {worker.name}")
        worker.kill_group()
        self._wait_restarted(worker)
        return detail + ", restarted by the supervisor"

    def _wait_restarted(self, proc: Proc) -> None:
        starts = proc.starts
        wait_until(lambda: proc.starts > starts and proc.alive(), timeout=30, what=f"{proc.name} restarted")

    # ---- beat

    def kill_beat(self) -> str:
        beat = self.world.fleet.beats[0]
        self.target = beat.name
        killed = time.monotonic()
        beat.kill_group()
        self._wait_restarted(beat)
        return f"SIGKILL beat, restarted by the supervisor after {time.monotonic() - killed:.1f}s"

    def two_beats(self) -> str:
        second = self.world.fleet.make_beat(len(self.world.fleet.beats))
        second.start()
        self._pending_beat = second
        seconds = self.world.profile.two_beats_seconds
        timer = threading.Timer(seconds, self._stop_second_beat)
        timer.daemon = True
        timer.start()
        return f"second beat started for {seconds:.0f}s"

    def _stop_second_beat(self) -> None:
        beat, self._pending_beat = self._pending_beat, None
        if beat is not None:
            beat.kill_group()
            self.last_fault_end = max(self.last_fault_end, time.monotonic())
            say("second beat stopped (SIGKILL)")

    # ---- Redis

    def redis_restart(self) -> str:
        down = self.rng.uniform(2, 5)
        self.world.redis.restart(down)
        return f"Redis SIGKILLed, down {down:.1f}s, started again empty"

    def redis_pause(self) -> str:
        ms = self.rng.randint(3000, 6000)
        self.world.redis.pause(ms)
        time.sleep(ms / 1000)
        return f"Redis paused (CLIENT PAUSE ALL) for {ms / 1000:.1f}s"

    # ---- PostgreSQL

    def pg_terminate(self) -> str:
        return f"terminated {self.world.pg.terminate_connections()} PostgreSQL connections"

    def pg_restart(self) -> str:
        started = time.monotonic()
        self.world.pg.restart()
        return f"PostgreSQL restarted (fast), {time.monotonic() - started:.1f}s"


# --------------------------------------------------------------------------- checks


class Monitor:
    """Reads the database with a connection of its own, reconnecting across faults."""

    def __init__(self, pg: Postgres) -> None:
        self.pg = pg
        self.conn: psycopg.Connection | None = None

    def query(self, sql: str, params: object = None) -> list[tuple]:
        for attempt in range(20):
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = self.pg.connect()
                return self.conn.execute(sql, params).fetchall()
            except psycopg.OperationalError:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                time.sleep(0.5)
        raise RuntimeError("the monitor cannot reach PostgreSQL")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def state(self) -> dict[str, int]:
        counts = dict(self.query("SELECT status, count(*) FROM review GROUP BY status"))
        overdue = self.query(
            "SELECT count(*) FROM review WHERE status = 'held' AND publish_at < now() - make_interval(secs => %s)",
            (STUCK_GRACE_SECONDS,))[0][0]
        outbox = dict(self.query("SELECT email_status, count(*) FROM notification GROUP BY email_status"))
        unsettled = self.query(
            "SELECT count(*) FROM notification WHERE email_status = 'dead' OR (email_status = 'pending' "
            "AND created_at < now() - make_interval(secs => %s))", (NOTIFICATION_SETTLE_SECONDS,))[0][0]
        leased = self.query("SELECT count(*) FROM notification WHERE email_status = 'pending' AND lease_until > now()")[0][0]
        return {"held": counts.get("held", 0), "published": counts.get("published", 0),
                "withdrawn": counts.get("withdrawn", 0), "overdue": overdue, "pending": outbox.get("pending", 0),
                "sent": outbox.get("sent", 0), "dead": outbox.get("dead", 0), "unsettled": unsettled,
                "leased": leased}


def expected_notifications(monitor: Monitor) -> list[str]:
    """The dedupe keys the recorded events call for (all recipients keep the default: email)."""
    members: dict[int, list[int]] = defaultdict(list)
    for business_id, user_id in monitor.query("SELECT business_id, user_id FROM membership ORDER BY id"):
        members[business_id].append(user_id)
    reviews = {rid: (author, business, reminders) for rid, author, business, reminders in
               monitor.query("SELECT id, author_id, business_id, reminders_sent FROM review")}
    keys: list[str] = []
    for rid, action, to_status in monitor.query("SELECT review_id, action, to_status FROM review_event"):
        author, business, _ = reviews[rid]
        if action == "submitted" and to_status == "held":
            keys += [f"review_held:{rid}:{m}" for m in members[business]]
        elif action == "published":
            keys += [f"review_published:{rid}:{u}" for u in [author, *members[business]]]
        elif action == "withdrawn":
            keys += [f"review_withdrawn:{rid}:{m}" for m in members[business]]
    for rid, (_, business, reminders) in reviews.items():
        for number in range(1, reminders + 1):
            keys += [f"reminder:{rid}.{number}:{m}" for m in members[business]]
    return keys


class Watch:
    """Samples, twice a second, what a publication needs: each worker's leader holding its
    broker connection, beat running and connected, Redis answering, PostgreSQL accepting
    connections. Each stretch of time a condition is false is an outage (wall-clock start, end),
    so a late review can be put beside what was down while it waited."""

    INTERVAL = 0.5

    def __init__(self, world: World) -> None:
        self.world = world
        self.outages: dict[str, list[list[float]]] = defaultdict(list)
        self._open: dict[str, list[float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        now = time.time()
        for span in self._open.values():
            span[1] = now
        self._open.clear()

    def _pg_up(self) -> bool:
        try:
            with psycopg.connect(self.world.pg.url(), connect_timeout=1) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def sample(self) -> dict[str, bool]:
        fleet, redis_port = self.world.fleet, self.world.redis.port
        down: dict[str, bool] = {}
        for proc in [*fleet.workers, *fleet.beats[:1]]:
            pid = proc.pid if proc.alive() else None
            down[f"{proc.name} off the broker"] = pid is None or not pids_connected([pid], remote_port=redis_port)
        down["Redis not answering"] = not self.world.redis.ping()
        down["PostgreSQL down"] = not self._pg_up()
        return down

    def _loop(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            try:
                down = self.sample()
            except Exception:  # noqa: BLE001 - a harness hiccup; sample again
                continue
            now = time.time()
            for name, is_down in down.items():
                span = self._open.get(name)
                if is_down and span is None:
                    span = [now, now]
                    self._open[name] = span
                    self.outages[name].append(span)
                elif is_down:
                    span[1] = now
                elif span is not None:
                    span[1] = now
                    del self._open[name]


def late_breakdown(monitor: Monitor, faults: Faults, watch: Watch,
                   crashes: list[tuple[str, int | None, float]]) -> list[str]:
    """Which fault (and which outage) each late publication overlapped. Late: more than the
    sweep interval plus 3 s after publish_at. A review's waiting time is [publish_at - that
    allowance, published_at]: a fault just before the due time still counts, since its
    after-effects (a restart, a reconnection) fall inside the allowance. Each late review counts
    once, for the last fault that began before it became late ("none": it overlapped no fault);
    a process that exited by itself counts as a fault ("exited[name]", until it was restarted).
    The outage line counts a review for every outage it overlapped."""
    allowed = SWEEP_INTERVAL_SECONDS + 3
    rows = monitor.query(
        "SELECT extract(epoch FROM publish_at)::float, extract(epoch FROM published_at)::float "
        "FROM review WHERE released_by = 'system'")
    late = [(due, done) for due, done in rows if done - due > allowed]
    lines = [f"late reviews (> {allowed}s after publish_at): {len(late)} of {len(rows)} published by the system"]
    if crashes:
        lines.append("processes that exited by themselves (restarted by the supervisor): " + ", ".join(
            f"{name} at {at - T0_WALL:.1f}s (status {status})" for name, status, at in crashes))
    if not late:
        return lines

    records = list(faults.records)
    for name, _, at in crashes:
        records.append(FaultRecord(0, "exited", name, at - RESTART_DELAY_SECONDS - Watch.INTERVAL, at,
                                   "exited by itself, restarted by the supervisor"))

    def overlaps(span: tuple[float, float], due: float, done: float) -> bool:
        return span[0] <= done and span[1] >= due - allowed

    by_fault: Counter[str] = Counter()
    by_record: dict[int, list[float]] = defaultdict(list)
    by_outage: Counter[str] = Counter()
    unexplained: list[str] = []
    for due, done in late:
        hit = [r for r in records if overlaps((r.start, r.end), due, done)]
        if hit:
            began = [r for r in hit if r.start <= due + allowed]
            primary = max(began, key=lambda r: r.start) if began else min(hit, key=lambda r: r.start)
            by_fault[primary.label] += 1
        for r in hit:
            if r.number:
                by_record[r.number].append(done - due)
        if not hit:
            by_fault["none"] += 1
            before = [r for r in records if r.end <= due]
            nearest = max(before, key=lambda r: r.end, default=None)
            if nearest is not None and len(unexplained) < 5:
                unexplained.append(f"{done - due:.1f}s late, due {due - T0_WALL:.1f}s, "
                                   f"{due - nearest.end:.1f}s after #{nearest.number} {nearest.label}")
        for name, spans in watch.outages.items():
            if any(overlaps((a, b), due, done) for a, b in spans):
                by_outage[name] += 1
    lines.append("late reviews by fault: " + " ".join(f"{k}={n}" for k, n in by_fault.most_common()))
    lines.append("late reviews by outage: " + (" ".join(f"{k.replace(' ', '_')}={n}" for k, n in by_outage.most_common())
                                               or "none observed"))
    numbered = {r.number: r for r in faults.records}
    worst = sorted(by_record.items(), key=lambda item: -max(item[1]))[:6]
    for number, values in worst:
        r = numbered[number]
        lines.append(f"  fault #{number} {r.label} at {r.start - T0_WALL:.1f}s-{r.end - T0_WALL:.1f}s: "
                     f"{len(values)} late, up to {max(values):.1f}s ({r.detail})")
    for note in unexplained:
        lines.append(f"  no fault: {note}")
    for name, spans in sorted(watch.outages.items()):
        long = [(a, b) for a, b in spans if b - a >= allowed]
        if long:
            lines.append(f"  outage {name}: " + ", ".join(f"{a - T0_WALL:.1f}s+{b - a:.1f}s" for a, b in long[:8]))
    return lines


@dataclass
class Verdict:
    values: dict[str, object]
    failed: list[str]
    notes: list[str]
    extra: str = ""  # a profile's own figures, after the common ones

    def line(self) -> str:
        return self.common_line() + (f" {self.extra}" if self.extra else "")

    def common_line(self) -> str:
        v = self.values
        return (f"chaos: reviews={v['reviews']} acknowledged={v['acknowledged']} persisted={v['persisted']} "
                f"faults={v['faults']} early={v['early']} duplicate_publications={v['duplicate_publications']} "
                f"published_after_withdraw={v['published_after_withdraw']} stuck={v['stuck']} "
                f"missing_notifications={v['missing_notifications']} duplicate_emails={v['duplicate_emails']} "
                f"send_phase_kills={v['send_phase_kills']} lateness_p50={v['lateness_p50']:.1f}s "
                f"lateness_p99={v['lateness_p99']:.1f}s lateness_max={v['lateness_max']:.1f}s "
                f"recovery={v['recovery']:.1f}s")


def judge(monitor: Monitor, ledger: Ledger, faults: Faults, sink: ChaosSink, recovery: float) -> Verdict:
    notes: list[str] = []
    acked = dict(ledger.acknowledged)
    rows = {rid: (author, business) for rid, author, business in
            monitor.query("SELECT id, author_id, business_id FROM review WHERE id = ANY(%s)", (list(acked),))}
    persisted = sum(1 for rid, pair in acked.items() if rows.get(rid) == pair)
    early = monitor.query("SELECT count(*) FROM review WHERE released_by = 'system' AND published_at < publish_at")[0][0]
    duplicate_publications = monitor.query(
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM review_event WHERE action = 'published' "
        "GROUP BY review_id HAVING count(*) > 1) AS twice")[0][0]
    withdrawn = sorted(ledger.withdraw_acked)
    published_after_withdraw = monitor.query(
        "SELECT count(*) FROM review r WHERE r.id = ANY(%s) AND (r.status <> 'withdrawn' OR EXISTS ("
        " SELECT 1 FROM review_event p JOIN review_event w ON w.review_id = p.review_id AND w.action = 'withdrawn'"
        " WHERE p.review_id = r.id AND p.action = 'published' AND p.at > w.at))", (withdrawn,))[0][0]
    stuck = monitor.query(
        "SELECT count(*) FROM review WHERE status = 'held' AND publish_at < now() - make_interval(secs => %s)",
        (STUCK_GRACE_SECONDS,))[0][0]

    accepted = Counter(mail.message_id for mail in sink.handler.snapshot())
    duplicate_emails = sum(n - 1 for n in accepted.values() if n > 1)
    outbox = {key: (nid, status) for nid, key, status in
              monitor.query("SELECT id, dedupe_key, email_status FROM notification")}
    missing = 0
    missing_examples: list[str] = []
    for key in expected_notifications(monitor):
        row = outbox.get(key)
        if row is None:
            problem = "no outbox row"
        elif row[1] in ("digest", "site_only"):
            continue
        elif message_id(row[0], key) not in accepted:
            problem = f"outbox {row[1]}, never accepted by the SMTP server"
        else:
            continue
        missing += 1
        if len(missing_examples) < 5:
            missing_examples.append(f"{key}: {problem}")
    if missing_examples:
        notes.append("missing notifications, e.g. " + "; ".join(missing_examples))
    if duplicate_emails:
        twice = [mid for mid, n in accepted.items() if n > 1][:5]
        notes.append(f"duplicated Message-IDs, e.g. {', '.join(twice)}")

    lateness = [row[0] for row in monitor.query(
        "SELECT extract(epoch FROM published_at - publish_at)::float FROM review WHERE released_by = 'system'")]
    values = {
        "reviews": ledger.submitted, "acknowledged": len(acked), "persisted": persisted, "faults": faults.total,
        "early": early, "duplicate_publications": int(duplicate_publications),
        "published_after_withdraw": published_after_withdraw, "stuck": stuck, "missing_notifications": missing,
        "duplicate_emails": duplicate_emails, "send_phase_kills": faults.send_phase_kills,
        "lateness_p50": percentile(lateness, 0.5), "lateness_p99": percentile(lateness, 0.99),
        "lateness_max": max(lateness, default=0.0), "recovery": recovery,
    }
    failed = []
    lost = len(acked) - persisted
    if lost:
        failed.append(f"lost={lost}")
    for key in ("early", "duplicate_publications", "published_after_withdraw", "stuck", "missing_notifications"):
        if values[key]:
            failed.append(f"{key}={values[key]}")
    if duplicate_emails > faults.duplicate_allowance:
        failed.append(f"duplicate_emails={duplicate_emails} > send-phase kills and stalls={faults.duplicate_allowance}")
    return Verdict(values, failed, notes)


# --------------------------------------------------------------------------- the run


def start_world(profile: Profile, tmp: Path, seed_value: int) -> World:
    """Every server and process on this machine's loopback."""
    rng = random.Random(seed_value)
    pg = Postgres(tmp, free_port())
    say(f"PostgreSQL cluster in {pg.data} on port {pg.port}")
    pg.init()
    pg.start()
    pg.create_database()
    redis = Redis(tmp, free_port())
    redis.start()
    say(f"Redis on port {redis.port} (no persistence)")
    sink = start_sink(rng, "127.0.0.1")
    (tmp / "instance").mkdir()
    env = build_env(tmp, pg, redis, "127.0.0.1", sink.port, profile.window_seconds)
    world = World(profile, tmp, rng, pg, redis, sink, Fleet(tmp, env, free_port()), env)
    start_site(world, webs=1)
    return world


def start_sink(rng: random.Random, host: str) -> ChaosSink:
    handler = ChaosHandler(seed=rng.randrange(2**32), refuse_share=0.10, stall_share=0.04,
                           stall_seconds=MAIL_TIMEOUT_SECONDS + 1.5, hold_share=0.25, hold_seconds=(0.2, 0.8))
    sink = ChaosSink(free_port(), handler, host=host)
    sink.start()
    say(f"SMTP sink on {host}:{sink.port}: 10% refused (451), 4% stalled past the client timeout, "
        "25% held 0.2-0.8s")
    return sink


def start_site(world: World, *, webs: int) -> None:
    """With the servers running: the migrations, the seed data, then the Procfile's processes
    (``webs`` gunicorns, two workers, the two timers workers and beat) under the supervisor."""
    fleet, env, tmp = world.fleet, world.env, world.tmp
    subprocess.run([str(VENV_BIN / "flask"), "--app", "reviewsite", "db", "upgrade"], env=env, check=True,
                   cwd=str(Path(__file__).resolve().parents[2]), stdout=subprocess.DEVNULL,
                   stderr=(tmp / "migrate.log").open("wb"))
    say("migrations applied")
    seed(world)
    say(f"seeded {len(world.slugs)} businesses and {len(world.reviewers)} confirmed reviewers")
    for index in range(webs):
        fleet.make_web(index).start()
    for index in range(2):
        fleet.make_worker(index).start()
    for index in range(2):
        fleet.make_timers(index).start()
    fleet.make_beat(0).start()
    for host, port in fleet.web_addresses():
        wait_until(lambda: port_open(port, host=host), timeout=60, what=f"gunicorn to listen on {host}:{port}")
    wait_until(lambda: all("ready." in w.log_text() for w in fleet.workers), timeout=90, what="the workers")
    wait_until(lambda: "beat: Starting..." in fleet.beats[0].log_text(), timeout=60, what="beat")
    say(f"web (gunicorn, 2 workers) on {', '.join(f'{h}:{p}' for h, p in fleet.web_addresses())}, "
        "2 Celery workers (concurrency 2), 2 timers workers and beat running")

    def restarted(proc: Proc, status: int | None) -> None:
        if status != -signal.SIGKILL:  # not one of our kills: the process exited by itself
            world.crashes.append((proc.name, status, time.time()))
            say(f"supervisor: {proc.name} exited by itself (status {status}), started again")

    world.supervisor = Supervisor(fleet, delay=RESTART_DELAY_SECONDS, on_restart=restarted)
    world.supervisor.start()
    say(f"supervisor: any process that exits is started again after {RESTART_DELAY_SECONDS:.0f}s")


def stop_world(world: World) -> None:
    if world.supervisor is not None:
        world.supervisor.stop()
    world.fleet.stop()
    world.sink.stop()
    world.redis.kill()
    world.pg.stop()


class Stage:
    """Where the run happens and what it adds: this one, every process on this machine's
    loopback; tests/chaos/hosts.py's puts them on hosts of their own."""

    name = "chaos"

    def start(self, profile: Profile, tmp: Path, seed_value: int) -> World:
        return start_world(profile, tmp, seed_value)

    def faults(self, world: World) -> "Faults":
        return Faults(world)

    def stop(self, world: World | None) -> None:
        if world is not None:
            stop_world(world)

    def figures(self, faults: "Faults") -> str:
        """The profile's own figures for the summary line, after the common ones."""
        return ""

    def report(self, monitor: "Monitor", faults: "Faults") -> list[str]:
        """The profile's own lines before the summary."""
        return []


def log_in_everyone(world: World) -> None:
    form_page = f"/b/{next(iter(world.slugs.values()))}/review"

    def login(reviewer: tuple[int, str]) -> None:
        user_id, email = reviewer
        session = Session(world.fleet.web_addresses())
        session.login(email, PASSWORD, form_page)
        world.sessions[user_id] = session

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(login, world.reviewers))
    say(f"{len(world.sessions)} reviewers logged in over HTTP")


def progress(world: World, ledger: Ledger, faults: Faults, monitor: Monitor, traffic: Traffic,
             state: dict[str, int]) -> None:
    sink = world.sink.handler.counts
    http = ", ".join(f"{k}={v}" for k, v in sorted(ledger.statuses.items()))
    say(f"submitted={ledger.submitted} acked={len(ledger.acknowledged)} withdrawn_acked={len(ledger.withdraw_acked)} "
        f"queue={traffic.pending()} | held={state['held']} published={state['published']} "
        f"overdue={state['overdue']} | outbox pending={state['pending']} leased={state['leased']} "
        f"sent={state['sent']} dead={state['dead']} | sink accepted={sink['accepted']} refused={sink['refused']} "
        f"stalled={sink['stalled']} | faults={faults.total} worker_kills={faults.worker_kills} "
        f"send_phase_kills={faults.send_phase_kills} | {http}")


def run(profile: Profile, seed_value: int, keep: bool, stage: Stage | None = None) -> int:
    stage = stage or Stage()
    tmp = Path(tempfile.mkdtemp(prefix=f"reviewsite-{stage.name}-{profile.name}-"))
    world: World | None = None
    monitor: Monitor | None = None
    traffic: Traffic | None = None
    faults: Faults | None = None
    watch: Watch | None = None
    verdict: Verdict | None = None
    try:
        say(f"profile {profile.name}: {profile.reviews} reviews over {profile.traffic_seconds:.0f}s, "
            f"window {profile.window_seconds}s, seed {seed_value}, folder {tmp}")
        world = stage.start(profile, tmp, seed_value)
        log_in_everyone(world)
        monitor = Monitor(world.pg)
        ledger = Ledger()
        pairs = [(author, business) for author, _ in world.reviewers for business in world.slugs]
        pairs = world.rng.sample(pairs, profile.reviews)
        traffic = Traffic(world, ledger)
        faults = stage.faults(world)
        watch = Watch(world)
        watch.start()
        start = time.monotonic()
        traffic.start(pairs)
        fault_thread = threading.Thread(target=faults.run, args=(start,), name="faults", daemon=True)
        fault_thread.start()

        # Traffic and faults, then recovery: the first moment after the last fault when nothing is
        # overdue and no notification is stuck or dead; then wait for the last windows to end.
        traffic_end = start + profile.traffic_seconds
        every = 5 if profile.name == "quick" else 10
        deadline = traffic_end + profile.window_seconds + profile.recovery_timeout
        recovered_at = None
        last_fault = None
        tick = 0
        while time.monotonic() < deadline:
            time.sleep(1)
            tick += 1
            state = monitor.state()
            if tick % every == 0:
                progress(world, ledger, faults, monitor, traffic, state)
            if last_fault is None and faults.finished.is_set():
                last_fault = faults.last_fault_end
                say(f"faults over ({faults.total}, of which {faults.worker_kills} worker kills), SMTP faults off")
            if last_fault is None:
                continue
            if recovered_at is None and state["overdue"] == 0 and state["unsettled"] == 0:
                recovered_at = time.monotonic()
                say(f"recovered {recovered_at - last_fault:.1f}s after the last fault")
            if (recovered_at is not None and time.monotonic() > traffic_end and traffic.idle()
                    and state["held"] == 0 and state["pending"] == 0):
                break
        traffic.stop()
        time.sleep(3 * SWEEP_INTERVAL_SECONDS)  # quiet: a late duplicate would show now
        progress(world, ledger, faults, monitor, traffic, monitor.state())
        last_fault = last_fault if last_fault is not None else faults.last_fault_end
        recovery = (recovered_at if recovered_at is not None else time.monotonic()) - last_fault
        verdict = judge(monitor, ledger, faults, world.sink, recovery)
        verdict.extra = stage.figures(faults)
        watch.stop()
        breakdown = late_breakdown(monitor, faults, watch, world.crashes)
        if recovered_at is None:
            verdict.failed.append("no recovery before the deadline")
        for kind, count in sorted(faults.done.items()):
            say(f"fault {kind}: {count}")
        for problem in faults.errors:
            say(f"fault error: {problem}")
        for problem in ledger.unclear_errors[:10]:
            say(f"client: {problem.strip()}")
        if ledger.gave_up:
            say(f"{ledger.gave_up} submissions never got an answer after retries (not acknowledged)")
        for note in verdict.notes:
            say(note)
        for line in [*breakdown, *stage.report(monitor, faults)]:
            say(line)
        for proc in world.fleet.all():
            errors = proc.log_text().count("Traceback")
            if errors:
                say(f"{proc.name} log has {errors} tracebacks ({proc.log})")
    except Exception:
        traceback.print_exc()
        say("the chaos run itself failed")
    finally:
        if traffic is not None:
            traffic.stop()
        if faults is not None:
            faults.stop()
        if watch is not None:
            watch.stop()
        if monitor is not None:
            monitor.close()
        stage.stop(world)
        failed = verdict is None or bool(verdict.failed)
        if keep or failed:
            say(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if verdict is None:
        print(f"{stage.name}: error: the run did not complete (see above)", flush=True)
        return 2
    if verdict.failed:
        say("FAILED: " + ", ".join(verdict.failed))
    print(verdict.line(), flush=True)
    return 1 if verdict.failed else 0


def main(argv: list[str] | None = None, *, profiles: dict[str, Profile] = PROFILES, stage: Stage | None = None,
         description: str | None = None) -> int:
    parser = argparse.ArgumentParser(description=description or __doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(profiles), default="quick")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder with every log")
    args = parser.parse_args(argv)
    seed_value = args.seed if args.seed is not None else random.randrange(1_000_000)
    # SIGTERM (a CI timeout) unwinds like an exception, so every server of the run is stopped; so
    # does SIGINT, also when the shell that started the run in the background made it ignored.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return run(profiles[args.profile], seed_value, args.keep, stage)


if __name__ == "__main__":
    sys.exit(main())
