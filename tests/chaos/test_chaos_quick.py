"""The quick chaos profiles as tests: real PostgreSQL, Redis, gunicorn, Celery workers and beat,
an SMTP sink that fails on purpose, and faults injected while reviews are submitted over HTTP;
once with every process on this machine (tests/chaos/run.py), once with each on a host of its own
made with network namespaces, with stalls, partitions, a lossy link and a skewed clock
(tests/chaos/hosts.py; needs root, as CI has).

Each starts throwaway servers of its own (free ports or its own hosts, a temporary folder), never
the shared ones. A run prints one summary line last and exits non-zero if an invariant was broken.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from reviewsite.config import PROJECT_ROOT

TIMEOUT_SECONDS = 420  # a profile takes about three minutes on a busy 2-core machine


@pytest.mark.parametrize("module", ["tests.chaos.run", "tests.chaos.hosts"], ids=["one-host", "many-hosts"])
def test_quick_chaos_profile_keeps_every_invariant(module: str) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", module, "--profile", "quick"],
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
