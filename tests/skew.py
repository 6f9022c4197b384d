"""A process whose clock is skewed, as on a host whose NTP is off: libfaketime preloaded
(Debian's ``faketime`` package, installed by bin/ensure-services).

The offset applies to the wall clock (``time.time()``, ``datetime.now()``) and, by the same
constant, to the monotonic clock, which changes no interval. (libfaketime 0.9.10's option to
leave the monotonic clock alone makes every ``time.sleep`` fail with EINVAL: Python sleeps on an
absolute monotonic deadline.)
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys


def libfaketime() -> str:
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not found:
        raise RuntimeError("libfaketime is missing (apt-get install faketime; bin/ensure-services does it)")
    return found[0]


def skewed_env(seconds: float) -> dict[str, str]:
    """Environment variables that make a process's wall clock run ``seconds`` ahead (negative:
    behind)."""
    preload = " ".join(p for p in (libfaketime(), os.environ.get("LD_PRELOAD", "")) if p)
    return {"LD_PRELOAD": preload, "FAKETIME": f"{seconds:+.0f}", "FAKETIME_DONT_RESET": "1"}


def measured_skew(env: dict[str, str], *, prefix: list[str] | None = None) -> float:
    """How far ahead the clock of a Python process started with ``env`` is (a check that the
    skew really took effect, so that a test of it cannot pass vacuously)."""
    import time

    before = time.time()
    out = subprocess.run([*(prefix or []), sys.executable, "-c", "import time; print(time.time())"],
                         env={**os.environ, **env}, capture_output=True, text=True, check=True).stdout
    return float(out) - (before + time.time()) / 2
