"""A short soak of the local site, as CI can afford: bin/run under supervisord on the embedded
defaults, driven over HTTP for a minute while the worker, beat and web are each
SIGKILLed once. Every acknowledged review is published, nothing crashes on its own, and each
killed process is started again while the others keep serving. The hour-long run is
``bin/soak --minutes 60`` (its figures are in the README)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.soak

ROOT = Path(__file__).resolve().parents[2]


def test_the_local_site_stays_up_and_loses_nothing():
    done = subprocess.run([sys.executable, "-m", "tests.soak.run", "--minutes", "1", "--kill", "--rate", "15"],
                          cwd=ROOT, capture_output=True, text=True, timeout=400)
    output = done.stdout + done.stderr
    summary = re.search(r"^soak: .*$", done.stdout, re.MULTILINE)
    assert summary, output
    figures = dict(re.findall(r"(\w+)=(\S+)", summary.group(0)))
    assert done.returncode == 0, output
    assert int(figures["reviews"]) >= 5 and figures["published"] == figures["reviews"], summary.group(0)
    assert figures["lost"] == "0" and figures["crashes"] == "0" and figures["died"] == "0", summary.group(0)
    assert int(figures["restarts"]) >= 3, "each killed process was started again"
    assert figures["web_down_during_kills"] == "0", "the web served while the worker and beat came back"
    assert int(figures["messages"]) > 0 and figures["missing_messages"] == "0"
