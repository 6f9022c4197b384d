"""Throwaway servers and real processes for the chaos run.

Everything here is private to one run: a PostgreSQL cluster and a Redis server of its own on free
ports in a temporary folder (the machine's shared PostgreSQL and Redis are never touched), and the
Procfile's processes (gunicorn, Celery workers, beat) started as subprocesses, each the leader of
its own process group so that a SIGKILL can take a whole worker with its prefork children.

Each server and process runs on loopback by default, or on a host of its own (``prefix``: the
command that runs a program inside a network namespace, ``address``: that host's address; see
tests/chaos/hosts.py).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from reviewsite.config import PROJECT_ROOT

PG_BIN_ROOT = Path("/usr/lib/postgresql")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, timeout: float = 0.5, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(probe, *, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------- PostgreSQL


def pg_bin() -> Path:
    versions = sorted((p for p in PG_BIN_ROOT.glob("*/bin/initdb")), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise RuntimeError(f"no PostgreSQL server binaries under {PG_BIN_ROOT}")
    return versions[-1].parent


@dataclass
class Postgres:
    """A cluster of our own. As root, initdb and the server run as the ``postgres`` OS user.
    ``trusted``: a network (CIDR) whose clients may connect without a password, besides
    loopback."""

    tmp: Path
    port: int
    database: str = "chaos"
    address: str = "127.0.0.1"
    prefix: tuple[str, ...] = ()
    trusted: str | None = None

    def __post_init__(self) -> None:
        self.data = self.tmp / "pg"
        self.sockets = self.tmp / "pgsock"
        self.log = self.tmp / "pg.log"
        self.bin = pg_bin()

    def _as_owner(self, args: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return [*self.prefix, "runuser", "-u", "postgres", "--", *args]
        return [*self.prefix, *args]

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _options(self) -> str:
        return (f"-p {self.port} -k {self.sockets} -c listen_addresses={self.address} -c max_connections=200 "
                f"-c fsync=off -c full_page_writes=off")

    def init(self) -> None:
        os.chmod(self.tmp, 0o755)  # the postgres user must reach its folders
        for path in (self.data, self.sockets):
            path.mkdir(mode=0o700)
            self._chown(path)
        self.log.touch()
        self._chown(self.log)
        subprocess.run(
            self._as_owner([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                            "-E", "UTF8", "--no-sync"]),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/",
        )
        if self.trusted:
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.write(f"host all all {self.trusted} trust\n")

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            self._as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), *args]),
            check=check, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/", timeout=60,
        )

    def start(self) -> None:
        self.pg_ctl("-o", self._options(), "-l", str(self.log), "-w", "-t", "30", "start")

    def restart(self) -> None:
        self.pg_ctl("-o", self._options(), "-l", str(self.log), "-m", "fast", "-w", "-t", "30", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.pg_ctl("-m", "immediate", "-w", "-t", "20", "stop", check=False)

    def url(self, database: str | None = None) -> str:
        return f"postgresql://postgres@{self.address}:{self.port}/{database or self.database}"

    def create_database(self) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url(), autocommit=True, connect_timeout=5)

    def terminate_connections(self) -> int:
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=5) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.database,),
            ).fetchall()
        return len(rows)


# --------------------------------------------------------------------------- Redis


@dataclass
class Redis:
    tmp: Path
    port: int
    popen: subprocess.Popen[bytes] | None = None
    address: str = "127.0.0.1"
    prefix: tuple[str, ...] = ()

    def url(self, db: int = 0) -> str:
        return f"redis://{self.address}:{self.port}/{db}"

    def start(self) -> None:
        log = (self.tmp / "redis.log").open("ab")
        self.popen = subprocess.Popen(
            [*self.prefix, REDIS_SERVER, "--port", str(self.port), "--bind", self.address, "--save", "",
             "--appendonly", "no",
             "--dir", str(self.tmp), "--daemonize", "no", "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        wait_until(lambda: self.ping(), timeout=15, what="redis to start")

    def ping(self) -> bool:
        """One attempt, at most about a second: redis-py's default retries with backoff took 4 s
        to say a stopped server was down."""
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        try:
            client = redis.Redis(host=self.address, port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5,
                                 retry=Retry(NoBackoff(), 0))
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def restart(self, down_seconds: float) -> None:
        """SIGKILL and start again on the same port, empty: every queued message is gone."""
        self.kill()
        time.sleep(down_seconds)
        self.start()

    def pause(self, milliseconds: int) -> None:
        import redis

        client = redis.Redis(host=self.address, port=self.port, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.execute_command("CLIENT", "PAUSE", str(milliseconds), "ALL")
        finally:
            client.close()


# --------------------------------------------------------------------------- processes


@dataclass
class Proc:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n===== start #{self.starts} at {time.time():.3f} =====\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                self.args, cwd=PROJECT_ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def group_pids(self) -> list[int]:
        """The leader and every process in its group (Celery's prefork children)."""
        if not self.alive():
            return []
        return [pid for pid in all_pids() if _pgid(pid) == self.popen.pid]

    def children(self) -> list[int]:
        if not self.alive():
            return []
        return [pid for pid in all_pids() if _ppid(pid) == self.popen.pid]

    def kill_group(self) -> None:
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def stop(self, timeout: float = 8.0) -> None:
        if not self.alive():
            self.kill_group()  # orphans of an earlier SIGKILL of the leader only
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        self.kill_group()

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def _ppid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def _pgid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[2]) if fields else None


def _tcp_rows(pid: int | str = "self") -> list[tuple[int, int, str, str]]:
    """(local port, remote port, state, inode) of every TCP socket in the network namespace of
    process ``pid`` (each host of a multi-host run has its own table)."""
    rows = []
    for table in (f"/proc/{pid}/net/tcp", f"/proc/{pid}/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, remote, state, inode = parts[1], parts[2], parts[3], parts[9]
            rows.append((int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16), state, inode))
    return rows


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def pids_connected(pids: list[int], *, remote_port: int | None = None, local_ports: set[int] | None = None) -> set[int]:
    """Which of ``pids`` hold an established TCP connection to ``remote_port`` (or from one of
    ``local_ports``), each looked up in its own network namespace."""
    by_namespace: dict[str, list[int]] = {}
    for pid in pids:
        try:
            by_namespace.setdefault(os.readlink(f"/proc/{pid}/ns/net"), []).append(pid)
        except OSError:
            continue
    found: set[int] = set()
    for members in by_namespace.values():
        wanted = {
            inode for local, remote, state, inode in _tcp_rows(members[0])
            if state == "01" and (remote_port is None or remote == remote_port)
            and (local_ports is None or local in local_ports)
        }
        if wanted:
            found |= {pid for pid in members if _socket_inodes(pid) & wanted}
    return found


class Supervisor:
    """What runs the Procfile in production restarts a process that exits, whatever the reason
    (the README's deployment section: systemd ``Restart=always`` with ``RestartSec=1``; Heroku
    restarts a crashed dyno at once the first time). Every process of the fleet gets the same
    here: a process that is gone is started again ``delay`` seconds later. The second beat of
    the two-beats fault is not supervised (it is meant to go away)."""

    def __init__(self, fleet: "Fleet", *, delay: float = 1.0, on_restart=None) -> None:
        self.fleet = fleet
        self.delay = delay
        self.on_restart = on_restart
        self.restarts: list[tuple[str, int | None, float]] = []  # (name, exit status, wall time)
        self._gone: dict[str, float] = {}
        self._stop = False
        self._thread = None

    def supervised(self) -> list[Proc]:
        return [*self.fleet.webs, *self.fleet.workers, *self.fleet.beats[:1]]

    def start(self) -> None:
        import threading

        self._thread = threading.Thread(target=self._loop, name="supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop:
            time.sleep(0.1)
            for proc in self.supervised():
                if self._stop or proc.popen is None or proc.alive():
                    self._gone.pop(proc.name, None)
                    continue
                since = self._gone.setdefault(proc.name, time.monotonic())
                if time.monotonic() - since < self.delay:
                    continue
                status = proc.popen.returncode
                proc.kill_group()  # prefork children left behind by a leader that died alone
                if self._stop:
                    return
                proc.start()
                self._gone.pop(proc.name, None)
                self.restarts.append((proc.name, status, time.time()))
                if self.on_restart is not None:
                    self.on_restart(proc, status)


@dataclass(frozen=True)
class Place:
    """Where a process runs: the command prefix that enters its host (none: this machine's own
    network), the host's address, and what its environment has besides the deployment's (a
    skewed clock, say)."""

    prefix: tuple[str, ...] = ()
    address: str = "127.0.0.1"
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Fleet:
    """The Procfile's processes for one deployment. ``places``: a process's host by its name
    (web, web2, worker0, worker1, timers, timers2, beat0, ...); the rest run on loopback."""

    tmp: Path
    env: dict[str, str]
    web_port: int
    webs: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)
    beats: list[Proc] = field(default_factory=list)
    places: Mapping[str, Place] = field(default_factory=dict)

    @property
    def web(self) -> Proc | None:
        return self.webs[0] if self.webs else None

    def place(self, name: str) -> Place:
        return self.places.get(name, Place())

    def _proc(self, name: str, args: list[str]) -> Proc:
        place = self.place(name)
        return Proc(name, [*place.prefix, *args], {**self.env, **place.env}, self.tmp / f"{name}.log")

    def celery(self, *args: str) -> list[str]:
        return [str(VENV_BIN / "celery"), "--app", "tasks.celery_app", *args]

    def make_web(self, index: int = 0) -> Proc:
        name = "web" if index == 0 else f"web{index + 1}"
        web = self._proc(
            name,
            [str(VENV_BIN / "gunicorn"), "--workers", "2", "--bind", f"{self.place(name).address}:{self.web_port}",
             "--timeout", "30", "--graceful-timeout", "5",
             "--control-socket", f"{self.env['REVIEWSITE_INSTANCE_DIR']}/{name}.ctl",
             "reviewsite:create_app(migrations=False)"],
        )
        self.webs.append(web)
        return web

    def web_addresses(self) -> list[tuple[str, int]]:
        return [(self.place(web.name).address, self.web_port) for web in self.webs]

    def make_worker(self, index: int) -> Proc:
        worker = self._proc(
            f"worker{index}",
            self.celery("worker", "--loglevel", "INFO", "--concurrency", "2", "--hostname", f"chaos{index}@%h",
                        "--without-mingle", "--without-gossip"),
        )
        self.workers.append(worker)
        return worker

    def make_timers(self, index: int) -> Proc:
        """The Procfile's "timers" workers (two): only the sweeps queue, so publication never
        waits behind mail, and goes on while one of them is down. They are workers like the
        others for the kills."""
        name = "timers" if index == 0 else f"timers{index + 1}"
        worker = self._proc(
            name,
            self.celery("worker", "--loglevel", "INFO", "--queues", "sweeps", "--concurrency", "1",
                        "--hostname", f"{name}@%h", "--without-mingle", "--without-gossip"),
        )
        self.workers.append(worker)
        return worker

    def make_beat(self, index: int) -> Proc:
        beat = self._proc(
            f"beat{index}",
            self.celery("beat", "--loglevel", "INFO", "--schedule", str(self.tmp / f"beat-schedule-{index}")),
        )
        self.beats.append(beat)
        return beat

    def worker_pids(self) -> list[int]:
        return [pid for worker in self.workers for pid in worker.group_pids()]

    def all(self) -> list[Proc]:
        return [*self.webs, *self.workers, *self.beats]

    def stop(self) -> None:
        procs = self.all()
        for proc in procs:
            if proc.alive():
                try:
                    os.killpg(proc.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 8
        for proc in procs:
            if proc.popen is not None:
                try:
                    proc.popen.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    pass
            proc.kill_group()
