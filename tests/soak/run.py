"""The soak run: the local site exactly as ``bin/run`` starts it, used for a long time.

    bin/soak --minutes 60           # the run whose figures the README quotes
    bin/soak --minutes 1 --kill --rate 15     # also SIGKILLs the worker, beat and web once (CI)
                                              # (each with its children, as a crash of the whole program)

It starts ``bin/run`` (supervisord running the Procfile's web, worker and beat on the embedded
defaults: a SQLite database, the SQLite broker and the development mailbox) in a temporary
instance folder on a free port, with a make-it-right window of a few seconds and a sweep every
second. People sign up, confirm their address with the link from the development mailbox, log
in; owners list businesses and claim them with the link mailed to their address at each one's
website (before the timed traffic starts); reviewers write reviews (most low-star, so held),
and both sides talk in the private thread of each held review. Everything goes over HTTP, within
the site's rate limits. Every few seconds it asks supervisord (over its socket) which processes
run.

At the end it waits for the last windows to close and checks every review the site
acknowledged against the database: published on time, published late (more than the sweep
interval plus 3 s after its ``publish_at``) or lost (missing, or not published). It prints one
line last:

    soak: minutes=... reviews=... published=... late=... lost=... held=... messages=... signups=...
    http_5xx=... crashes=... restarts=... died=... lateness_p50=...s lateness_p99=...s lateness_max=...s

and exits 1 if a review was lost, a message acknowledged is missing, the site answered 5xx, a
process exited without the soak killing it (a crash, even one the supervisor repaired), one
died for good (supervisord gave up on it), or the web stopped answering while the worker or
beat it killed was being started again. ``--keep`` keeps the folder (logs, databases).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import xmlrpc.client
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.chaos.client import CSRF_RE, Response, Session
from tests.timetable import Timetable

ROOT = Path(__file__).resolve().parents[2]
WINDOW_SECONDS = 8
SWEEP_INTERVAL_SECONDS = 1
LATE_AFTER_SECONDS = SWEEP_INTERVAL_SECONDS + 3
PASSWORD = "soak password 1234"
OWNERS = 6
BUSINESSES_PER_OWNER = 2
# One city per listing: shops alike in one city would be likely duplicates.
CITIES = ("Leeds", "York", "Bath", "Hull", "Derby", "Bristol", "Exeter", "Truro", "Durham", "Carlisle",
          "Chester", "Wells", "Ripon", "Lincoln")
# Below the site's limits for one address (reviewsite/limits.py): 300 reviews an hour, 10
# sign-ups a minute; each reviewer writes at most 9 reviews an hour (the limit is 10).
REVIEWS_PER_MINUTE = 4.0
REVIEWS_PER_REVIEWER_PER_HOUR = 9
SIGNUP_SPACING_SECONDS = 7.0
CLIENT_THREADS = 4
PROGRAMS = ("web", "worker", "beat")
# What the operator's shell may hold that must not change the local site.
SETTINGS = ("DATABASE_URL", "CELERY_BROKER_URL", "MAIL_SERVER", "SITE_URL", "HOST", "SECRET_KEY",
            "RATELIMIT_STORAGE_URI", "RATELIMIT_ENABLED", "CACHE_TYPE", "REVIEWSITE_ENV", "TRUSTED_PROXIES")

T0 = time.monotonic()


def say(message: str) -> None:
    print(f"[soak {time.monotonic() - T0:7.1f}s] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


# --------------------------------------------------------------------------- the site


class Site:
    """bin/run in a folder of its own, and supervisord's view of its processes."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.instance = folder / "instance"
        self.port = port
        self.log = folder / "bin-run.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
        env.update(PORT=str(self.port), REVIEWSITE_INSTANCE_DIR=str(self.instance),
                   WINDOW_SECONDS=str(WINDOW_SECONDS), SWEEP_INTERVAL_SECONDS=str(SWEEP_INTERVAL_SECONDS),
                   MESSAGE_GATHER_SECONDS="5", PYTHONUNBUFFERED="1")
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen([str(ROOT / "bin" / "run")], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"bin/run exited with {self.popen.returncode}:\n{self.log_tail()}")
            try:
                if all(info["statename"] == "RUNNING" for info in self.processes().values()) and self.answers():
                    return
            except (OSError, xmlrpc.client.Error):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the site did not come up within 180 s:\n{self.log_tail()}")

    def answers(self) -> bool:
        try:
            return Session(self.port, timeout=5).request("GET", "/").status == 200
        except OSError:
            return False

    def _rpc(self) -> xmlrpc.client.ServerProxy:
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.instance / 'supervisor.sock'}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def processes(self) -> dict[str, dict]:
        return {info["name"]: info for info in self._rpc().supervisor.getAllProcessInfo()}

    def supervisor_log(self) -> str:
        try:
            return (self.instance / "supervisord.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)  # supervisord stops its programs, then itself
        try:
            self.popen.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def database(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.instance / 'reviewsite.sqlite'}?mode=ro", uri=True, timeout=30)


# --------------------------------------------------------------------------- people and traffic


@dataclass
class Person:
    email: str
    name: str
    session: Session
    owner: bool = False
    reviewed: set[str] = field(default_factory=set)
    review_times: list[float] = field(default_factory=list)
    ready: bool = False


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter[str] = field(default_factory=Counter)
    reviews: dict[int, int] = field(default_factory=dict)  # review id -> stars, as acknowledged
    messages: Counter[int] = field(default_factory=Counter)  # review id -> messages acknowledged
    errors: list[str] = field(default_factory=list)

    def count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n


class Traffic:
    def __init__(self, site: Site, seed: int) -> None:
        self.site = site
        self.rng = random.Random(seed)
        self.ledger = Ledger()
        self.people: list[Person] = []
        self.owner_of: dict[str, Person] = {}  # business slug -> its owner
        self._serial = itertools.count(1)
        self._listings = itertools.count(0)
        self.last_signup = 0.0
        self.timetable = Timetable(CLIENT_THREADS, lambda job: getattr(self, f"_{job[0]}")(*job[1:]),
                                   self.ledger.errors)
        self.start = self.timetable.start
        self.stop = self.timetable.stop
        self.idle = self.timetable.idle

    def at(self, delay: float, *job: object) -> None:
        self.timetable.schedule(time.monotonic() + delay, job)

    # -- HTTP
    def _send(self, person: Person, method: str, path: str, form: dict[str, object] | None = None,
              *, keep_cookies: bool = False) -> Response | None:
        try:
            response = person.session.request(method, path, form, keep_cookies=keep_cookies)
        except OSError as exc:  # the web is restarting: nobody was told success
            self.ledger.count(f"connection:{type(exc).__name__}")
            return None
        self.ledger.count(f"http:{response.status}")
        if response.status >= 500:
            self.ledger.count("http_5xx")
            self.ledger.errors.append(f"HTTP {response.status} on {method} {path}")
        return response

    def _form(self, person: Person, page: str, form: dict[str, object], *, to: str | None = None,
              keep_cookies: bool = False) -> Response | None:
        """GET ``page`` for its CSRF token (and, while signing up and in, its cookies), then POST
        ``form`` to ``to`` (default: the page itself)."""
        shown = self._send(person, "GET", page, keep_cookies=keep_cookies)
        if shown is None or shown.status != 200:
            return None
        token = CSRF_RE.search(shown.body)
        if token is None:
            self.ledger.errors.append(f"no CSRF token on {page}")
            return None
        return self._send(person, "POST", to or page, {"csrf_token": token.group(1), **form}, keep_cookies=keep_cookies)

    # -- people
    def new_person(self, *, owner: bool = False) -> None:
        serial = next(self._serial)
        kind = "owner" if owner else "reviewer"
        person = Person(email=f"{kind}{serial}@soak.example", name=f"{kind.title()} {serial}",
                        session=Session(self.site.port, timeout=30), owner=owner)
        self.people.append(person)
        self.last_signup = time.monotonic()
        self.at(0, "signup", person, 1)

    def _signup(self, person: Person, attempt: int) -> None:
        response = self._form(person, "/signup", {"email": person.email, "display_name": person.name,
                                                  "password": PASSWORD, "confirm": PASSWORD}, keep_cookies=True)
        if response is not None and response.status == 302:
            self.ledger.count("signups")
            self.at(1, "confirm", person, 1)
        elif attempt < 10:
            self.at(3, "signup", person, attempt + 1)
        else:
            self.ledger.errors.append(f"sign-up of {person.email} never answered 302")

    def _confirm(self, person: Person, attempt: int) -> None:
        link = self._mailed_link(person, person.email, "/confirm/")
        if link is None:
            if attempt < 60:
                self.at(1, "confirm", person, attempt + 1)
            else:
                self.ledger.errors.append(f"no confirmation mail for {person.email} after 60 s")
            return
        response = self._send(person, "GET", link, keep_cookies=True)
        if response is not None and response.status == 302:
            self.ledger.count("confirmations")
            self.at(0.5, "login", person, 1)
        else:
            self.at(2, "confirm", person, attempt + 1)

    def _login(self, person: Person, attempt: int) -> None:
        response = self._form(person, "/login", {"email": person.email, "password": PASSWORD}, keep_cookies=True)
        if response is None or response.status != 302:
            if attempt < 10:
                self.at(3, "login", person, attempt + 1)
            return
        self.ledger.count("logins")
        if person.owner:
            for _ in range(BUSINESSES_PER_OWNER):
                self.at(0, "listing", person, 1)
        else:
            person.ready = True

    def _listing(self, person: Person, attempt: int) -> None:
        # Distinct businesses, as real owners list: the same address or a like name in one city
        # would be asked "is it one of these?" (a likely duplicate).
        serial = next(self._listings)
        city = f"{CITIES[serial % len(CITIES)]}{'' if serial < len(CITIES) else f' {serial}'}"
        domain = f"shop{serial}.soak.example"
        response = self._form(person, "/businesses/new", {"name": f"Soak Shop {serial}", "category": "Cafe",
                                                          "city": city, "address": f"{serial} Soak Street",
                                                          "website": f"https://{domain}", "description": "Soup."})
        if response is not None and response.status == 302 and response.location_path.startswith("/b/"):
            self.ledger.count("listings")
            self.at(0.5, "claim", person, response.location_path[len("/b/"):], f"owner@{domain}", 1)
        elif response is not None and response.status == 200:
            self.ledger.errors.append(f"listing by {person.email} was asked about likely duplicates")
        elif attempt < 10:
            self.at(3, "listing", person, attempt + 1)

    def _claim(self, person: Person, slug: str, email: str, attempt: int) -> None:
        """The lister claims the listing with a link to their address at its website's domain:
        only a verified owner sees its held reviews and talks in their threads."""
        response = self._form(person, f"/b/{slug}/claim", {"method": "website_email", "email": email})
        if response is not None and response.status == 302 and response.location_path.startswith("/claims/"):
            self.at(1, "verify", person, slug, email, 1)
        elif attempt < 10:
            self.at(3, "claim", person, slug, email, attempt + 1)
        else:
            self.ledger.errors.append(f"claim of {slug} never answered 302")

    def _verify(self, person: Person, slug: str, email: str, attempt: int) -> None:
        link = self._mailed_link(person, email, "/claims/verify/")
        if link is None:
            if attempt < 60:
                self.at(1, "verify", person, slug, email, attempt + 1)
            else:
                self.ledger.errors.append(f"no claim mail to {email} after 60 s")
            return
        response = self._form(person, link, {})
        if response is not None and response.status == 302:
            self.ledger.count("claims_verified")
            self.owner_of[slug] = person
        elif attempt < 60:
            self.at(2, "verify", person, slug, email, attempt + 1)

    def _mailed_link(self, person: Person, to: str, path: str) -> str | None:
        """The newest link under ``path`` in mail to ``to``, read in the development mailbox (the
        mail found by its id, which the database gives: the mailbox lists only the latest 200)."""
        with self.site.database() as db:
            row = db.execute("SELECT id FROM dev_mail WHERE to_addr = ? ORDER BY id DESC LIMIT 1", (to,)).fetchone()
        mail = self._send(person, "GET", f"/dev/mailbox/{row[0]}") if row else None
        if mail is None:
            return None
        found = re.search(rf"http://127\.0\.0\.1:{self.site.port}({re.escape(path)}[^\s<\"]+)", mail.body)
        return found.group(1) if found else None

    def next_review(self) -> None:
        """One review by someone who may still write one (limits, businesses left)."""
        now = time.monotonic()
        slugs = list(self.owner_of)
        ready = [p for p in self.people if p.ready and len([t for t in p.review_times if now - t < 3600])
                 < REVIEWS_PER_REVIEWER_PER_HOUR and set(slugs) - p.reviewed]
        if not ready or len(ready) < 3:
            if now - self.last_signup >= SIGNUP_SPACING_SECONDS:
                self.new_person()
        if ready:
            person = self.rng.choice(ready)
            slug = self.rng.choice(sorted(set(slugs) - person.reviewed))
            person.reviewed.add(slug)
            person.review_times.append(now)
            self.at(0, "review", person, slug, 1)

    def _review(self, person: Person, slug: str, attempt: int) -> None:
        stars = self.rng.randint(1, 3) if self.rng.random() < 0.75 else self.rng.randint(4, 5)
        response = self._form(person, f"/b/{slug}/review", {"stars": stars, "title": f"Visit to {slug}",
                                                           "body": f"{person.name} was at {slug}. " * 3})
        if response is not None and response.status == 302 and response.location_path.startswith("/reviews/"):
            review_id = int(response.location_path.rsplit("/", 1)[1])
            with self.ledger.lock:
                self.ledger.reviews[review_id] = stars
            if stars <= 3:
                self.at(self.rng.uniform(0.5, 2.5), "message", person, review_id, 1)
                self.at(self.rng.uniform(1.5, 4.0), "message", self.owner_of[slug], review_id, 1)
        elif response is None and attempt < 5:
            self.at(3, "review", person, slug, attempt + 1)  # no answer: try again (a 422 says it was saved)
        elif response is not None and response.status != 422:
            self.ledger.count(f"review-refused:{response.status}")

    def _message(self, person: Person, review_id: int, attempt: int) -> None:
        response = self._form(person, f"/reviews/{review_id}", {"body": f"A word from {person.name} on review {review_id}."},
                              to=f"/reviews/{review_id}/messages")
        if response is not None and response.status == 302:
            with self.ledger.lock:
                self.ledger.messages[review_id] += 1
        elif response is None and attempt < 5:
            self.at(2, "message", person, review_id, attempt + 1)


# --------------------------------------------------------------------------- watching the processes


@dataclass
class Watch:
    """supervisord's processes, every few seconds: pids seen, and any that it gave up on."""

    site: Site
    pids: dict[str, set[int]] = field(default_factory=lambda: {name: set() for name in PROGRAMS})
    given_up: set[str] = field(default_factory=set)
    kills: Counter[str] = field(default_factory=Counter)
    # Times the web did not answer right after the worker or beat was killed: the rest must serve.
    web_down: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def look(self, last: bool = False) -> dict[str, dict]:
        """Record the pids, and the programs supervisord gave up on (FATAL: its start retries ran
        out). EXITED alone is not giving up: with ``autorestart`` it is the half second between a
        kill and the next spawn, which a look every 3 s sometimes lands in. The ``last`` look, after
        every window has closed, also counts any program that is not RUNNING by then."""
        processes = self.site.processes()
        for name, info in processes.items():
            if info["pid"]:
                self.pids.setdefault(name, set()).add(info["pid"])
            if info["statename"] in ("FATAL", "UNKNOWN") or (last and info["statename"] != "RUNNING"):
                self.given_up.add(name)
        return processes

    def run(self) -> None:
        while not self._stop.wait(3):
            try:
                self.look()
            except (OSError, xmlrpc.client.Error) as exc:
                say(f"supervisord did not answer: {exc!r}")
                self.given_up.add("supervisord")

    def kill(self, name: str) -> None:
        """SIGKILL the program and its children (supervisord starts each in a process group of
        its own): the whole web dies, not a gunicorn master whose orphaned workers would keep
        the port for seconds and make its next start fail to bind."""
        pid = self.look()[name]["pid"]
        if pid:
            os.killpg(pid, signal.SIGKILL)
            self.kills[name] += 1
            say(f"killed {name} (process group {pid}) with SIGKILL")
            if name != "web":
                for _ in range(5):
                    time.sleep(0.5)
                    self.web_down += not self.site.answers()

    def stop(self) -> None:
        self._stop.set()

    def unexpected_exits(self) -> int:
        """Exits supervisord saw that the soak did not cause."""
        exits = Counter(re.findall(r"(?:WARN|INFO) exited: (\w+) \(.*not expected\)", self.site.supervisor_log()))
        return sum(max(0, count - self.kills[name]) for name, count in exits.items())


# --------------------------------------------------------------------------- the check


@dataclass
class Outcome:
    reviews: int
    published: int
    held: int
    late: int
    lost: int
    missing_messages: int
    lateness: list[float]


def parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None


def check(site: Site, ledger: Ledger) -> Outcome:
    with site.database() as db:
        rows = {row[0]: row for row in db.execute(
            "SELECT id, status, held_at, publish_at, published_at FROM review")}
        messages = Counter(dict(db.execute("SELECT review_id, count(*) FROM thread_message GROUP BY review_id")))
    published = held = late = lost = 0
    lateness: list[float] = []
    for review_id in ledger.reviews:
        row = rows.get(review_id)
        if row is None or row[1] != "published":
            lost += 1
            ledger.errors.append(f"review {review_id} acknowledged but {'missing' if row is None else row[1]}")
            continue
        published += 1
        if row[2] is not None:  # it was held: published by the sweep at publish_at
            held += 1
            seconds = (parse(row[4]) - parse(row[3])).total_seconds()
            lateness.append(max(seconds, 0.0))
            if seconds > LATE_AFTER_SECONDS:
                late += 1
    missing = sum(max(0, n - messages.get(review_id, 0)) for review_id, n in ledger.messages.items())
    return Outcome(len(ledger.reviews), published, held, late, lost, missing, lateness)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Soak the local site (bin/run) over HTTP.")
    parser.add_argument("--minutes", type=float, default=60.0, help="how long to drive traffic (default 60)")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the worker, beat and web once each")
    parser.add_argument("--rate", type=float, default=REVIEWS_PER_MINUTE,
                        help=f"reviews a minute (default {REVIEWS_PER_MINUTE:g}; the site allows one address 300 an hour)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    folder = Path(tempfile.mkdtemp(prefix="reviewsite-soak-"))
    site = Site(folder, free_port())
    say(f"seed={seed} folder={folder} port={site.port} window={WINDOW_SECONDS}s sweep={SWEEP_INTERVAL_SECONDS}s")
    traffic = Traffic(site, seed)
    watch = Watch(site)
    status = 1
    try:
        site.start()
        say("site up: " + ", ".join(f"{n} pid {i['pid']}" for n, i in watch.look().items()))
        watcher = threading.Thread(target=watch.run, daemon=True)
        watcher.start()
        traffic.start()
        for _ in range(OWNERS):
            traffic.new_person(owner=True)
        # The owners' set-up (sign up, confirm, log in, list, claim, verify) before the timed
        # traffic: reviews go to verified listings, whose owners answer in the threads.
        deadline = time.monotonic() + 180
        while len(traffic.owner_of) < OWNERS * BUSINESSES_PER_OWNER and time.monotonic() < deadline:
            time.sleep(0.5)
        say(f"{len(traffic.owner_of)} listings claimed and verified by their owners")
        if not traffic.owner_of:
            raise RuntimeError("no owner verified a listing within 180 s: " + "; ".join(traffic.ledger.errors[:5]))
        duration = args.minutes * 60
        started = time.monotonic()
        kills = {started + duration * share: name for share, name in zip((0.25, 0.5, 0.75), ("worker", "beat", "web"))
                 } if args.kill else {}
        next_review = started + 5
        next_report = started + 60
        while (now := time.monotonic()) < started + duration:
            if now >= next_review:
                traffic.next_review()
                next_review = now + traffic.rng.expovariate(args.rate / 60)
            for at in [at for at in kills if at <= now]:
                watch.kill(kills.pop(at))
            if now >= next_report:
                c = traffic.ledger.counts
                say(f"reviews={len(traffic.ledger.reviews)} messages={sum(traffic.ledger.messages.values())} "
                    f"signups={c['signups']} people={len(traffic.people)} http_5xx={c['http_5xx']}")
                next_report = now + 60
            time.sleep(0.2)
        say("traffic over; waiting for the last confirmations, messages and windows")
        deadline = time.monotonic() + 60
        while not traffic.idle() and time.monotonic() < deadline:
            time.sleep(0.5)
        traffic.stop()
        time.sleep(WINDOW_SECONDS + LATE_AFTER_SECONDS + 5)
        outcome = check(site, traffic.ledger)
        watch.stop()
        watch.look(last=True)
        crashes = watch.unexpected_exits()
        restarts = sum(len(pids) - 1 for pids in watch.pids.values())
        died = sorted(watch.given_up)
        counts = traffic.ledger.counts
        for error in traffic.ledger.errors[:20]:
            say(f"error: {error.strip()}")
        say("status counts: " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        failed = (outcome.lost or outcome.missing_messages or counts["http_5xx"] or crashes or died
                  or watch.web_down or not outcome.reviews)
        status = 1 if failed else 0
        print(f"soak: minutes={args.minutes:g} reviews={outcome.reviews} published={outcome.published} "
              f"late={outcome.late} lost={outcome.lost} held={outcome.held} "
              f"messages={sum(traffic.ledger.messages.values())} missing_messages={outcome.missing_messages} "
              f"signups={counts['signups']} http_5xx={counts['http_5xx']} crashes={crashes} restarts={restarts} "
              f"kills={sum(watch.kills.values())} web_down_during_kills={watch.web_down} died={','.join(died) or 0} "
              f"lateness_p50={percentile(outcome.lateness, 0.5):.1f}s "
              f"lateness_p99={percentile(outcome.lateness, 0.99):.1f}s "
              f"lateness_max={max(outcome.lateness, default=0.0):.1f}s", flush=True)
    except Exception:  # noqa: BLE001 - say what broke, keep the folder
        traceback.print_exc()
        say(f"bin/run log:\n{site.log_tail()}")
        args.keep = True
    finally:
        traffic.stop()
        watch.stop()
        site.stop()
        if args.keep or status:
            say(f"kept {folder} (bin-run.log, instance/supervisord.log, the databases)")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
