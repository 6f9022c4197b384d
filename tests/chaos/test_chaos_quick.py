"""The quick chaos profile as a test: real PostgreSQL, Redis, gunicorn, Celery workers and beat,
an SMTP sink that fails on purpose, and faults injected while reviews are submitted over HTTP.

It starts throwaway servers of its own (free ports, a temporary folder), never the shared ones.
The run prints one summary line last and exits non-zero if an invariant was broken
(see tests/chaos/run.py)."""

from __future__ import annotations

import subprocess
import sys

from reviewsite.config import PROJECT_ROOT

TIMEOUT_SECONDS = 420  # the profile takes about three minutes on a busy 2-core machine


def test_quick_chaos_profile_keeps_every_invariant() -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "tests.chaos.run", "--profile", "quick"],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        stdout, stderr = run.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        run.terminate()  # SIGTERM: the run stops its servers and processes on the way out
        try:
            stdout, stderr = run.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            run.kill()
            stdout, stderr = run.communicate()
        raise AssertionError(f"the quick chaos run took more than {TIMEOUT_SECONDS}s\n{stdout[-5000:]}") from None
    lines = stdout.strip().splitlines()
    report = "\n".join(lines[-60:]) + "\n--- stderr ---\n" + stderr[-3000:]
    assert lines and lines[-1].startswith("chaos: "), report
    assert run.returncode == 0, report
