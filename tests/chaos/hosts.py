"""The multi-host chaos run: the Procfile's processes on hosts of their own, and the faults of many
machines.

    .venv/bin/python -m tests.chaos.hosts --profile quick     # ~3 minutes (CI, as root)
    .venv/bin/python -m tests.chaos.hosts --profile full      # >= 2,000 reviews, ~12 minutes

Needs root (network namespaces, iptables) and libfaketime (bin/ensure-services installs both).
Hosts are network namespaces on a bridge (tests/chaos/netns.py), every connection on the hosts'
own addresses: PostgreSQL, Redis, two web hosts (gunicorn), two worker hosts, two timers hosts,
beat; the harness (HTTP clients, the SMTP sink, the checks) is the bridge's own address. The
PostgreSQL cluster and Redis server are the run's own, as in tests/chaos/run.py, whose traffic,
process supervision, faults, checks and summary this reuses. Besides that run's faults it injects:

- ``stall_claim``: SIGSTOP of a timers host (its worker and pool process) caught inside a sweep
  transaction that claimed rows, for longer than the server's idle-in-transaction timeout: the
  server ends that session and the other timers worker publishes the rows;
- ``stall_send``: SIGSTOP of a worker host in the middle of an SMTP conversation, for longer than
  the mail lease: another sender delivers its claimed mail; at most one duplicate, same
  Message-ID (counted with the send-phase kills);
- ``partition_pg``, ``partition_redis``, ``partition_all``: one host cut off (iptables in its
  namespace) from PostgreSQL, from Redis, or from everything, for longer than the dead-peer time;
- ``degrade``: packet loss (and latency) on one host's link for a while;
- and, for the whole run, the second timers host's clock 35 s ahead (libfaketime).

It prints the same lines and summary as tests/chaos/run.py, the summary with ``stalls=``,
``partitions=`` and ``skewed_hosts=`` added, and exits non-zero on the same failures. Its
namespaces, veths, bridge, rules and processes are removed at the end, also on SIGINT, SIGTERM or
an exception; a set-up left by a run that was killed outright is removed at the start.
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.chaos import run as chaos
from tests.chaos.netns import Network
from tests.chaos.run import Faults, Monitor, Profile, Stage, World, say
from tests.chaos.servers import Fleet, Place, Postgres, Proc, Redis, pids_connected
from tests.skew import skewed_env

HOSTS = ["pg", "redis", "web1", "web2", "worker1", "worker2", "timers1", "timers2", "beat"]
# Each Procfile process (tests/chaos/servers.Fleet's names) on its host; the second beat of the
# two-beats fault runs on the beat host too.
PROCESS_HOSTS = {"web": "web1", "web2": "web2", "worker0": "worker1", "worker1": "worker2", "timers": "timers1",
                 "timers2": "timers2", "beat0": "beat", "beat1": "beat"}
SKEWED_HOSTS = {"timers2": 35}  # seconds ahead
# The production defaults (reviewsite/config.py): the faults must outlast them.
IDLE_IN_TRANSACTION_SECONDS = 10
DEAD_PEER_SECONDS = 10
# Shorter than the single-host run's 30 s, so a stalled sender outlives its lease in a quick run;
# at least 4 x the mail timeout (2 s), as the settings require.
MAIL_LEASE_SECONDS = 16
STALLS = ("stall_claim", "stall_send")
PARTITIONS = ("partition_pg", "partition_redis", "partition_all")


@dataclass(frozen=True)
class HostsProfile(Profile):
    host_faults: dict[str, int] = field(default_factory=dict)


HOST_FAULTS = ("stall_claim", "stall_send", "partition_pg", "partition_redis", "partition_all", "degrade")


def _profile(base: str, *, each_host_fault: int, **changes: object) -> HostsProfile:
    """The single-host run's profile of that name, with ``changes`` and the host faults."""
    fields = {**dataclasses.asdict(chaos.PROFILES[base]), **changes}
    return HostsProfile(**fields, host_faults=dict.fromkeys(HOST_FAULTS, each_host_fault))


PROFILES = {
    # Every single-host fault once, every host fault once: about 2.5 minutes.
    "quick": _profile("quick", each_host_fault=1, reviews=240, kills_by=0.5, two_beats_seconds=10,
                      faults=dict.fromkeys(chaos.PROFILES["quick"].faults, 1)),
    "full": _profile("full", each_host_fault=3, faults={
        "kill_send": 5, "kill_publish": 5, "kill_child": 5, "kill_worker": 3, "kill_beat": 2, "two_beats": 1,
        "redis_restart": 2, "redis_pause": 2, "pg_terminate": 3, "pg_restart": 1}),
}

# A timers worker's transaction that holds claimed rows: it has a transaction id (row locks of
# FOR UPDATE and every write take one) and comes from a timers host.
CLAIM_SQL = (
    "SELECT host(client_addr), state FROM pg_stat_activity WHERE datname = current_database() "
    "AND backend_xid IS NOT NULL AND state IN ('active', 'idle in transaction') AND host(client_addr) = ANY(%s)"
)


class HostFaults(Faults):
    """The single-host run's faults on one timeline, the faults of many hosts on another (one
    at a time: the bound under test is for one sweeper stalled or cut off)."""

    def __init__(self, world: World, network: Network) -> None:
        super().__init__(world)
        self.network = network
        # Processes caught in an SMTP conversation by a stall or a partition of their host: each may
        # cost one duplicate, as a kill in the middle of sending does (the mail was accepted, its
        # sender could not record it before its lease ran out).
        self.send_phase_faults = 0
        self._stopped: set[int] = set()  # process groups under SIGSTOP now

    @property
    def duplicate_allowance(self) -> int:
        return self.send_phase_kills + self.send_phase_faults

    @property
    def stalls(self) -> int:
        return sum(self.done[kind] for kind in STALLS)

    @property
    def partitions(self) -> int:
        return sum(self.done[kind] for kind in PARTITIONS)

    def plans(self) -> list[list[tuple[float, str]]]:
        profile = self.world.profile
        assert isinstance(profile, HostsProfile)
        kinds = [kind for kind, count in profile.host_faults.items() for _ in range(count)]
        self.rng.shuffle(kinds)
        step = 0.85 * profile.traffic_seconds / max(len(kinds), 1)
        return [self.plan(), [(0.05 * profile.traffic_seconds + step * i, kind) for i, kind in enumerate(kinds)]]

    def stop(self) -> None:
        super().stop()
        for group in list(self._stopped):
            self._resume(group)

    # ---- helpers

    def _host_of(self, proc: Proc) -> str:
        return PROCESS_HOSTS[proc.name]

    def _pause(self, proc: Proc) -> int:
        group = proc.pid
        os.killpg(group, signal.SIGSTOP)
        self._stopped.add(group)
        return group

    def _resume(self, group: int) -> None:
        try:
            os.killpg(group, signal.SIGCONT)
        except ProcessLookupError:
            pass
        self._stopped.discard(group)

    def _hold(self, seconds: float) -> None:
        self._stop.wait(seconds)

    # ---- stalls

    def stall_claim(self) -> str:
        """Catch a timers host inside a sweep transaction that claimed rows and stop it there (the
        worker and its pool process: a paused VM), longer than the idle-in-transaction timeout."""
        timers = {self.network[PROCESS_HOSTS[p.name]].address: p for p in self.world.fleet.workers
                  if p.name.startswith("timers") and p.alive()}
        seconds = IDLE_IN_TRANSACTION_SECONDS + self.rng.uniform(3, 5)
        monitor = Monitor(self.world.pg)  # reconnects across the other timeline's PostgreSQL faults
        victim, state, group = None, "no claim caught", None
        try:
            deadline = time.monotonic() + 20
            while victim is None and time.monotonic() < deadline:
                rows = monitor.query(CLAIM_SQL, (list(timers),))
                if rows:
                    address, state = rows[0]
                    victim = timers[address]
                    group = self._pause(victim)
                else:
                    time.sleep(0.003)
            if victim is None:
                victim = self.rng.choice(list(timers.values()))
                group = self._pause(victim)
            self.target = self._host_of(victim)
            claims = ("SELECT count(*) FROM pg_stat_activity WHERE host(client_addr) = %s "
                      "AND backend_xid IS NOT NULL")
            address = self.network[self.target].address
            held = monitor.query(claims, (address,))[0][0]
            stopped = time.monotonic()
            ended = None
            while time.monotonic() - stopped < seconds and not self._stop.is_set():
                if ended is None and held and not monitor.query(claims, (address,))[0][0]:
                    ended = time.monotonic() - stopped
                time.sleep(0.2)
        finally:
            if group is not None:
                self._resume(group)
            monitor.close()
        outcome = (f"the server ended its transaction after {ended:.1f}s" if ended is not None
                   else "its transaction had already ended" if not held else "its transaction outlived the stall")
        return (f"SIGSTOP {victim.name} on {self.target} for {seconds:.1f}s, caught {state} holding "
                f"{'a claim' if held else 'no claim'}: {outcome}")

    def stall_send(self) -> str:
        """Stop a worker host in the middle of an SMTP conversation, longer than the mail lease."""
        senders = [p for p in self.world.fleet.workers if p.name.startswith("worker") and p.alive()]
        seconds = MAIL_LEASE_SECONDS + self.rng.uniform(3, 5)
        deadline = time.monotonic() + 15
        victim = None
        while victim is None and time.monotonic() < deadline:
            for proc in senders:
                if pids_connected(proc.group_pids(), remote_port=self.world.sink_port):
                    victim = proc
                    break
            else:
                time.sleep(0.01)
        victim = victim or self.rng.choice(senders)
        group = self._pause(victim)
        try:
            self.target = self._host_of(victim)
            sending = self._count_sending(victim)
            self._hold(seconds)
        finally:
            self._resume(group)
        return f"SIGSTOP {victim.name} on {self.target} for {seconds:.1f}s ({sending} processes mid-send)"

    def _count_sending(self, proc: Proc) -> int:
        sending = len(pids_connected(proc.group_pids(), remote_port=self.world.sink_port))
        with self._lock:
            self.send_phase_faults += sending
        return sending

    # ---- partitions and a bad link

    def _partition(self, candidates: list[str], cut_from: list[str] | None, what: str) -> str:
        host = self.network[self.rng.choice(candidates)]
        self.target = host.name
        seconds = DEAD_PEER_SECONDS + self.rng.uniform(3, 5)
        host.cut_off(cut_from)
        sending = 0
        if what != "Redis":  # cut off from PostgreSQL, a sender cannot record what it sent
            sending = sum(self._count_sending(p) for p in self.world.fleet.workers if PROCESS_HOSTS[p.name] == host.name)
        try:
            self._hold(seconds)
        finally:
            host.heal()
        return f"{host.name} cut off from {what} for {seconds:.1f}s" + (f" ({sending} processes mid-send)" if sending else "")

    def partition_pg(self) -> str:
        return self._partition(["timers1", "timers2", "worker1", "worker2", "web1", "web2"],
                               [self.network["pg"].address], "PostgreSQL")

    def partition_redis(self) -> str:
        return self._partition(["timers1", "timers2", "worker1", "worker2", "web1", "web2", "beat"],
                               [self.network["redis"].address], "Redis")

    def partition_all(self) -> str:
        return self._partition(["timers1", "timers2", "worker1", "worker2", "web1", "web2", "beat"],
                               None, "everything")

    def degrade(self) -> str:
        # Not a sender's own link: SMTP's answer lost to a timeout is a duplicate by design (the
        # server took the mail, the sender could not know), which the run would count as a fault.
        host = self.network[self.rng.choice(["pg", "redis", "timers1", "web1"])]
        self.target = host.name
        seconds = self.rng.uniform(12, 18)
        applied = host.degrade(loss=0.1, delay_ms=80)
        try:
            self._hold(seconds)
        finally:
            host.heal()
        return f"{host.name}'s link degraded for {seconds:.1f}s: {applied}"


class HostsStage(Stage):
    name = "chaos-hosts"

    def __init__(self) -> None:
        self.network = Network(HOSTS)
        self.faults_: HostFaults | None = None

    def start(self, profile: Profile, tmp: Path, seed_value: int) -> World:
        if os.geteuid() != 0:
            raise RuntimeError("the multi-host run needs root (network namespaces, iptables)")
        stale = self.network.up()
        if stale:
            say(f"removed a stale set-up of an earlier run: {', '.join(stale)}")
        net = self.network
        say("hosts: " + ", ".join(f"{name} {host.address}" for name, host in net.hosts.items())
            + f"; harness (clients, SMTP sink) {net.harness_address}; "
            + ("netem available" if net["pg"].netem else "no netem in this kernel: loss by iptables statistic"))
        rng = random.Random(seed_value)
        pg = Postgres(tmp, 5432, address=net["pg"].address, prefix=net["pg"].prefix, trusted=f"{net.harness_address}/24")
        pg.init()
        pg.start()
        pg.create_database()
        say(f"PostgreSQL cluster in {pg.data} on {pg.address}:{pg.port}")
        redis = Redis(tmp, 6379, address=net["redis"].address, prefix=net["redis"].prefix)
        redis.start()
        say(f"Redis on {redis.address}:{redis.port} (no persistence)")
        sink = chaos.start_sink(rng, net.harness_address)
        (tmp / "instance").mkdir()
        env = chaos.build_env(tmp, pg, redis, net.harness_address, sink.port, profile.window_seconds,
                              mail_lease=MAIL_LEASE_SECONDS)
        places = {}
        for process, host in PROCESS_HOSTS.items():
            skew = SKEWED_HOSTS.get(host)
            places[process] = Place(net[host].prefix, net[host].address, skewed_env(skew) if skew else {})
        for host, seconds in SKEWED_HOSTS.items():
            say(f"{host}'s clock runs {seconds:+d}s (libfaketime)")
        world = World(profile, tmp, rng, pg, redis, sink, Fleet(tmp, env, 8000, places=places), env)
        chaos.start_site(world, webs=2)
        return world

    def faults(self, world: World) -> Faults:
        self.faults_ = HostFaults(world, self.network)
        return self.faults_

    def stop(self, world: World | None) -> None:
        try:
            if self.faults_ is not None:
                self.faults_.stop()  # resumes any process still under SIGSTOP
            super().stop(world)
        finally:
            self.network.down()
            say("hosts removed (namespaces, veths, bridge, rules, processes)")

    def figures(self, faults: Faults) -> str:
        assert isinstance(faults, HostFaults)
        return f"stalls={faults.stalls} partitions={faults.partitions} skewed_hosts={len(SKEWED_HOSTS)}"

    def report(self, monitor: Monitor, faults: Faults) -> list[str]:
        bound = chaos.SWEEP_INTERVAL_SECONDS + IDLE_IN_TRANSACTION_SECONDS + 3
        beyond = monitor.query(
            "SELECT count(*), coalesce(max(extract(epoch FROM published_at - publish_at)), 0)::float FROM review "
            "WHERE released_by = 'system' AND published_at - publish_at > make_interval(secs => %s)", (bound,))[0]
        return [f"published beyond the stall bound (sweep interval + idle-in-transaction timeout + 3 s = {bound}s): "
                f"{beyond[0]}" + (f", up to {beyond[1]:.1f}s" if beyond[0] else "")]


def main(argv: list[str] | None = None) -> int:
    return chaos.main(argv, profiles=PROFILES, stage=HostsStage(), description=__doc__.split("\n\n")[0])


if __name__ == "__main__":
    sys.exit(main())
