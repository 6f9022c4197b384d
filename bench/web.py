"""Web pages under load: gunicorn as in the Procfile (2 workers), wrk from a separate process at
a fixed concurrency, each page compared with ``/bench/ping`` of the same app, in the same run."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from bench.common import (CONCURRENCY, PASSWORD, VENV_BIN, WORK, Profile, Results, app_env, children, connect,
                          free_port, log, start, stop, vm_hwm_mb, wait_for_port)

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
THREADS = 2
ROUNDS = 3
READ_PAGES = ("ping", "business_page", "search")
SESSION_USERS = 64

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(output: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", output, re.M)
        if m:
            out[f"p{pct}_ms"] = _ms(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", output)
    out["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", output)
    out["requests"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    out["errors"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Socket errors: (.*)", output)
    out["socket_errors"] = 1.0 if m else 0.0
    return out


def wrk(url: str, seconds: int, script: str | None = None, env: dict[str, str] | None = None) -> dict[str, float]:
    args = ["wrk", f"-t{THREADS}", f"-c{CONCURRENCY}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        args += ["-s", script]
    proc = subprocess.run(args + [url], capture_output=True, text=True, env=env, check=True)
    (WORK / "wrk.log").open("a").write(f"$ {' '.join(args)} {url}\n{proc.stdout}{proc.stderr}\n")
    return parse_wrk(proc.stdout)


class Client:
    """A tiny cookie-keeping HTTP client for logging in (no redirects followed)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        for header, value in resp.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return resp.status, text

    def csrf(self, path: str) -> str:
        status, text = self.request("GET", path)
        m = CSRF.search(text)
        if status != 200 or not m:
            raise RuntimeError(f"GET {path}: {status}, no csrf token")
        return m.group(1)


def login_session(port: int, user_id: int, review_slug: str) -> dict[str, str]:
    c = Client(port)
    token = c.csrf("/login")
    status, _ = c.request("POST", "/login", {"csrf_token": token, "email": f"u{user_id}@bench.example.com",
                                             "password": PASSWORD})
    if status != 302:
        raise RuntimeError(f"login of user {user_id} answered {status}")
    token = c.csrf(f"/b/{review_slug}/review")
    return {"cookie": "; ".join(f"{k}={v}" for k, v in c.cookies.items()), "csrf": token}


def write_sessions(path, sessions: list[dict[str, str]], slugs: list[str]) -> None:
    def lua(s: str) -> str:
        return json.dumps(s)  # a JSON string literal is a valid Lua string literal here (ASCII)

    lines = ["SESSIONS = {"]
    lines += [f"  {{cookie = {lua(s['cookie'])}, csrf = {lua(s['csrf'])}}}," for s in sessions]
    lines += ["}", "SLUGS = {"] + [f"  {lua(s)}," for s in slugs] + ["}"]
    path.write_text("\n".join(lines) + "\n")


def run(p: Profile, dataset: dict, results: Results) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing (apt-get install -y wrk)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The Procfile's web process, with the bench wrapper module instead of reviewsite:create_app().
    gunicorn = start([str(VENV_BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                      "--control-socket", str(WORK / "instance" / "gunicorn.ctl"),
                      "--access-logfile", str(WORK / "access.log"), "bench.wsgi:app"], "gunicorn", app_env())
    try:
        wait_for_port(port)
        slug = dataset["popular_slug"]
        pages = {
            "ping": "/bench/ping",
            "business_page": f"/b/{slug}",
            "search": f"/businesses?q={dataset['search_q']}&city={dataset['search_city']}",
        }
        for name, path in pages.items():
            status, text = Client(port).request("GET", path)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            if name == "search":
                m = re.search(r"(\d+) business(?:es)? found", text)
                results.note("search_results", m.group(1) if m else "?")
            if name == "business_page":
                results.note("business_page_bytes", str(len(text.encode())))

        # Logged-in spare users (they have reviewed nothing) and two disjoint lists of businesses
        # (warm-up and measured run), so that every POST is a new (business, author) pair.
        # Spare users who still have reviewed nothing, so that a re-run with --skip-load (whose
        # earlier run wrote reviews) measures submissions, not "already reviewed" answers.
        with connect() as conn:
            slugs = [r[0] for r in conn.execute("SELECT slug FROM business WHERE id > 1 ORDER BY id")]
            users = [r[0] for r in conn.execute(
                'SELECT id FROM "user" u WHERE id >= %s AND NOT EXISTS '
                "(SELECT 1 FROM review r WHERE r.author_id = u.id) ORDER BY id LIMIT %s",
                (dataset["spare_start"], SESSION_USERS))]
        if len(users) < SESSION_USERS:
            raise RuntimeError("not enough spare users without reviews left: run bench/run without --skip-load")
        half = len(slugs) // 2
        t = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            sessions = list(pool.map(lambda u: login_session(port, u, slugs[0]), users))
        log(f"logged in {len(sessions)} users in {time.monotonic() - t:.1f}s")
        warm_file, run_file = WORK / "sessions_warm.lua", WORK / "sessions_run.lua"
        write_sessions(warm_file, sessions, slugs[:half])
        write_sessions(run_file, sessions, slugs[half:])
        script = str(WORK.parent / "submit.lua")

        # The read pages in ROUNDS rounds of (ping, business page, search), each page's ratio taken
        # against the ping of its own round, the median reported: this machine's speed drifts
        # by 10-20 % within a minute, and a ping measured a minute away shifted the ratios as much.
        rounds: list[dict[str, dict[str, float]]] = []
        seconds = max(p.wrk_seconds // 2, 2)
        for number in range(ROUNDS):
            current: dict[str, dict[str, float]] = {}
            for name in READ_PAGES:
                url = base + pages[name]
                if number == 0:
                    wrk(url, p.warmup_seconds)
                current[name] = fig = wrk(url, seconds)
                log(f"round {number + 1} {name}: {fig['rps']:.0f} req/s, p50 {fig.get('p50_ms', 0):.1f} ms, "
                    f"p99 {fig.get('p99_ms', 0):.1f} ms, non-2xx/3xx {fig['errors']:.0f}")
            rounds.append(current)

        env_warm = {**app_env(), "BENCH_SESSIONS": str(warm_file), "BENCH_THREADS": str(THREADS)}
        env_run = {**env_warm, "BENCH_SESSIONS": str(run_file)}
        url = base + "/"
        wrk(url, p.warmup_seconds, script, env_warm)
        with connect() as conn:
            before = conn.execute("SELECT count(*) FROM review WHERE author_id >= %s",
                                  (dataset["spare_start"],)).fetchone()[0]
        ping_before = wrk(base + pages["ping"], seconds)
        submit = wrk(url, p.wrk_seconds, script, env_run)
        ping_after = wrk(base + pages["ping"], seconds)
        with connect() as conn:
            after = conn.execute("SELECT count(*) FROM review WHERE author_id >= %s",
                                 (dataset["spare_start"],)).fetchone()[0]
        log(f"submit: {submit['rps']:.0f} req/s, p50 {submit.get('p50_ms', 0):.1f} ms, "
            f"p99 {submit.get('p99_ms', 0):.1f} ms, non-2xx/3xx {submit['errors']:.0f}")

        pings = [r["ping"]["rps"] for r in rounds]
        results.add("ping_rps", statistics.median(pings))
        results.add("ping_p99_ms", max(r["ping"].get("p99_ms", 0.0) for r in rounds))
        for name in ("business_page", "search"):
            ratios = [r[name]["rps"] / r["ping"]["rps"] for r in rounds if r["ping"]["rps"]]
            results.add(f"{name}_rps", statistics.median(r[name]["rps"] for r in rounds))
            results.add(f"{name}_ratio", statistics.median(ratios) if ratios else 0.0)
            results.add(f"{name}_p50_ms", statistics.median(r[name].get("p50_ms", 0.0) for r in rounds))
            results.add(f"{name}_p99_ms", max(r[name].get("p99_ms", 0.0) for r in rounds))  # the worst round
            results.note(f"{name}_ratio_rounds", ", ".join(f"{x:.3f}" for x in ratios))
            errors = sum(r[name]["errors"] for r in rounds)
            if errors:
                results.add(f"{name}_non_2xx_3xx", int(errors))
        # The submission against pings right before and after it.
        ping_around = (ping_before["rps"] + ping_after["rps"]) / 2
        results.add("submit_rps", submit["rps"])
        results.add("submit_ratio", submit["rps"] / ping_around if ping_around else 0.0)
        results.add("submit_p50_ms", submit.get("p50_ms", 0.0))
        results.add("submit_p99_ms", submit.get("p99_ms", 0.0))
        if submit["errors"]:
            results.add("submit_non_2xx_3xx", int(submit["errors"]))
        results.add("submit_rows_written", int(after - before))
        results.add("submit_requests", int(submit["requests"]))

        workers = children(gunicorn.pid)
        peaks = [m for m in (vm_hwm_mb(pid) for pid in workers) if m is not None]
        results.add("web_worker_peak_rss_mb", max(peaks) if peaks else float("nan"))
        results.note("web_workers", f"{len(peaks)} gunicorn workers, VmHWM {', '.join(f'{m:.0f}' for m in peaks)} MB")
    finally:
        stop(gunicorn)
