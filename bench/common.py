"""Shared settings and helpers for the benchmark: database, environment, processes, figures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
VENV_BIN = ROOT / ".venv" / "bin"

DB_NAME = "reviewsite_bench"
PG = "postgresql://postgres@127.0.0.1:5432"
DATABASE_URL = f"{PG}/{DB_NAME}"
BROKER_URL = "redis://127.0.0.1:6379/14"
PASSWORD = "bench-password"
# The production posture wants a key of at least 32 characters (reviewsite/config.py).
BENCH_SECRET_KEY = "bench-secret-key-not-for-any-real-site"

if DB_NAME.startswith("reviewsite_test"):  # never the test databases
    raise SystemExit("refusing to run against a test database")


@dataclass(frozen=True)
class Profile:
    name: str
    users: int  # reviewers
    businesses: int
    reviews: int
    popular_reviews: int
    spare_users: int  # never reviewed anything: web POSTs and lateness reviews
    due_small: int
    backlog: int
    lateness_reviews: int
    notifications: int
    wrk_seconds: int
    warmup_seconds: int


PROFILES = {
    "full": Profile("full", users=100_000, businesses=10_000, reviews=1_000_000, popular_reviews=10_000,
                    spare_users=3_000, due_small=10_000, backlog=100_000, lateness_reviews=1_000,
                    notifications=2_000, wrk_seconds=12, warmup_seconds=3),
    "quick": Profile("quick", users=10_000, businesses=1_000, reviews=50_000, popular_reviews=2_000,
                     spare_users=3_000, due_small=1_000, backlog=5_000, lateness_reviews=300,
                     notifications=500, wrk_seconds=5, warmup_seconds=2),
}

CONCURRENCY = 8
SWEEP_INTERVAL_SECONDS = 1


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def connect(autocommit: bool = False):
    import psycopg

    return psycopg.connect(DATABASE_URL, autocommit=autocommit)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(**extra: str) -> dict[str, str]:
    """The environment of every app process: production shape, against the bench database."""
    env = dict(os.environ)
    env.update(
        REVIEWSITE_ENV="production",
        DATABASE_URL=DATABASE_URL,
        CELERY_BROKER_URL=BROKER_URL,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_ENABLED="false",
        SECRET_KEY=BENCH_SECRET_KEY,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=extra.pop("MAIL_PORT", "2525"),
        SWEEP_INTERVAL_SECONDS=str(SWEEP_INTERVAL_SECONDS),
        REVIEWSITE_INSTANCE_DIR=str(WORK / "instance"),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def configure_in_process() -> None:
    """Same settings for the in-process parts (loading, sweep timings)."""
    for key, value in app_env().items():
        os.environ[key] = value


def start(args: list[str], name: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    WORK.mkdir(parents=True, exist_ok=True)
    out = open(WORK / f"{name}.log", "ab")
    return subprocess.Popen(args, cwd=ROOT, env=env or app_env(), stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Stop a process we started (and its own children, by its process group id)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident set size of a process (VmHWM), in MB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass
class Results:
    """Figures collected by every phase, saved as JSON so the report can be written at the end."""

    figures: dict[str, float | int | str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: float | int | str) -> None:
        if isinstance(value, float):
            value = round(value, 3 if abs(value) < 10 else 1)
        self.figures[name] = value
        print(f"{name}={value}", flush=True)

    def note(self, name: str, text: str) -> None:
        self.notes[name] = text

    def save(self) -> None:
        WORK.mkdir(parents=True, exist_ok=True)
        (WORK / "results.json").write_text(json.dumps({"figures": self.figures, "notes": self.notes}, indent=2))
