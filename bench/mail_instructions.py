"""Instructions a mail costs the sender, counted by Valgrind: a figure the machine's noise
cannot move.

On a shared 2-core machine the notification throughput of two runs of the same code differs by a
third, so a difference of a tenth between two versions cannot be told from noise. Valgrind's
callgrind counts the instructions the sending process executes, which depend only on the code
(three runs of one version agree within 0.4 %). This mails N notifications in-process, in the
delivery's batches of 50, to the bench's SMTP sink (another process, not counted), once with 100
and once with 500; the difference over 400 is the cost of one mail, without start-up.

    bench/run                               # loads the bench database first
    apt-get install -y valgrind
    .venv/bin/python -m bench.mail_instructions

Prints ``mail_instructions=<n>``. About three minutes; not part of bench/run. To compare two
versions, run it in a worktree of each against a database its migrations built (the notices it
writes carry their review's facts in columns, as the site's have since e713c84).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from bench.common import DATABASE_URL, ROOT, VENV_BIN, WORK, app_env, connect, free_port, start, stop, wait_for_port
from bench.workers import pending_notices

BATCH = 50


def _pending(n: int) -> list[int]:
    """N pending notices, after marking any earlier run's as sent."""
    with connect() as conn:
        conn.execute("UPDATE notification SET email_status = 'sent', sent_at = now() WHERE email_status = 'pending'")
        conn.commit()
    return pending_notices(n, prefix="instructions")


def _send(n: int) -> None:
    """The counted process: a warm-up batch pair, then N mails."""
    from reviewsite import create_app
    from reviewsite.notifications.delivery import deliver_batch

    app = create_app(migrations=False)
    with app.app_context():
        for count in (2 * BATCH, n):
            ids = _pending(count)
            outcomes: dict[int, str] = {}
            for first in range(0, len(ids), BATCH):
                outcomes.update(deliver_batch(ids[first : first + BATCH]))
            if sorted(set(outcomes.values())) != ["sent"]:
                raise SystemExit(f"not every mail was sent: {outcomes}")


def _instructions(n: int, env: dict[str, str]) -> int:
    out = WORK / f"callgrind.{n}.out"
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(VENV_BIN / "python"), "-m",
         "bench.mail_instructions", "--send", str(n)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    out.unlink(missing_ok=True)
    return int(re.search(r"Collected : (\d+)", done.stderr).group(1))


def main() -> None:
    if sys.argv[1:2] == ["--send"]:
        _send(int(sys.argv[2]))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = app_env(MAIL_PORT=str(port), DATABASE_URL=os.environ.get("DATABASE_URL", DATABASE_URL))
    sink = start([str(VENV_BIN / "python"), "-m", "bench.smtp_sink", str(port)], "smtp_sink", env)
    try:
        wait_for_port(port)
        few, many = _instructions(100, env), _instructions(500, env)
    finally:
        stop(sink)
    print(f"mail_instructions={(many - few) // 400}")


if __name__ == "__main__":
    main()
