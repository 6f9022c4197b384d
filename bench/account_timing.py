"""Whether the time of an answer tells an outsider that an address has an account (issue 10).

    .venv/bin/python -m bench.account_timing              # SQLite in a temporary folder
    .venv/bin/python -m bench.account_timing --rounds 60
    DATABASE_URL=postgresql://... .venv/bin/python -m bench.account_timing   # a scratch database

Drives the app in this process (Flask's test client, CSRF on, limits off) with requests for an
address that has an account and one that has none, alternately, and prints the median time of
each and their ratio, one ``name=value`` line per figure: log-in with a wrong password,
sign-up, and a reset request. A ratio near 1.0 means the time says nothing; before issue 10,
log-in took about 116 ms for an account against 9 ms for no account (ratio 13).

Not part of the tests: a timed assertion would fail on a busy machine. Separate from bench/run,
and light (a few seconds of one core).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PASSWORD = "timing password 123"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="account-timing-"))
    os.environ["REVIEWSITE_ENV"] = "development"
    os.environ["REVIEWSITE_INSTANCE_DIR"] = str(folder)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder / 'timing.sqlite'}")
    os.environ.pop("MAIL_SERVER", None)

    from flask_migrate import upgrade

    from reviewsite import create_app
    from reviewsite.clock import now_utc
    from reviewsite.services import accounts
    from reviewsite.unit_of_work import unit_of_work

    app = create_app({"RATELIMIT_ENABLED": False})
    conf = app.extensions["celery"].conf
    conf.broker_url, conf.broker_transport, conf.broker_transport_options = "memory://", None, {}
    with app.app_context():
        upgrade()
        with unit_of_work():
            user = accounts.register(email="known@example.com", password=PASSWORD, display_name="Known",
                                     now=now_utc())
            accounts.confirm_email(user, now=now_utc())

    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)

    def timed(url: str, form: dict[str, str]) -> float:
        started = time.perf_counter()
        response = client.post(url, data={"csrf_token": token, **form})
        elapsed = time.perf_counter() - started
        assert response.status_code in (200, 302, 422), (url, response.status_code)
        return elapsed

    fresh = iter(range(10**9))
    cases: dict[str, tuple[str, Callable[[], dict[str, str]], Callable[[], dict[str, str]]]] = {
        "login": ("/login", lambda: {"email": "known@example.com", "password": "wrong password"},
                  lambda: {"email": "nobody@example.com", "password": "wrong password"}),
        "signup": ("/signup",
                   lambda: {"email": "known@example.com", "display_name": "X", "password": PASSWORD,
                            "confirm": PASSWORD},
                   lambda: {"email": f"new{next(fresh)}@example.com", "display_name": "X", "password": PASSWORD,
                            "confirm": PASSWORD}),
        "reset": ("/password/forgot", lambda: {"email": "known@example.com"},
                  lambda: {"email": "nobody@example.com"}),
    }
    for name, (url, known, unknown) in cases.items():
        timed(url, known())  # warm up both paths (templates, statements)
        timed(url, unknown())
        with_account, without = [], []
        for _ in range(args.rounds):
            with_account.append(timed(url, known()))
            without.append(timed(url, unknown()))
        a, b = median_ms(with_account), median_ms(without)
        print(f"{name}_with_account_ms={a:.1f}")
        print(f"{name}_without_account_ms={b:.1f}")
        print(f"{name}_ratio={a / b:.2f}", flush=True)


if __name__ == "__main__":
    main()
