"""Hosts made with Linux network namespaces on this machine, for the multi-host chaos run.

Each host is a network namespace (``ip netns``) with one interface, a veth pair whose other end
is on a bridge in this machine's own namespace; the bridge has an address too, so the harness
(the HTTP clients, the SMTP sink, the checks) is one more host on the same network. All traffic
between hosts goes over the bridge, on the hosts' own addresses. Faults are applied inside a
host's namespace, so they end with it:

- a partition: iptables rules that drop what goes to and comes from given addresses (or
  everything but loopback);
- a degraded link: tc netem loss and latency when the kernel has netem; otherwise (netem is a
  kernel module some kernels are built without, this VM's among them) iptables' ``statistic``
  match drops a random share of packets both ways, and TCP's retransmissions turn that loss into
  latency (a lost segment waits at least 200 ms).

Everything is named with the prefix ``rsch`` (namespaces ``rsch-<host>``, the bridge ``rsch0``,
veths ``rschN``): a run removes whatever a killed earlier run left (its namespaces, their
processes and rules, the bridge) before it sets up its own, and one run at a time holds the lock.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "rsch"
BRIDGE = f"{PREFIX}0"
SUBNET = "10.213.77"
LOCK_PATH = Path("/run/lock/reviewsite-chaos-hosts.lock")
LOCK_WAIT_SECONDS = 900


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=30)


def namespaces() -> list[str]:
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0].startswith(f"{PREFIX}-")]


def remove_stale() -> list[str]:
    """Remove every namespace, process inside one, and link this module names: what a run that
    was killed (SIGKILL, a power cut of the CI job) could not clean up. Returns what it found."""
    found = []
    for name in namespaces():
        found.append(name)
        kill_inside(name)
        _ip("netns", "del", name, check=False)
    out = _ip("-o", "link", "show", check=False).stdout
    for line in out.splitlines():
        link = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if link.startswith(PREFIX):
            found.append(link)
            _ip("link", "del", link, check=False)
    return found


def kill_inside(namespace: str) -> None:
    """SIGKILL every process in the namespace (deleting a namespace does not end them)."""
    for _ in range(3):
        pids = [int(p) for p in _ip("netns", "pids", namespace, check=False).stdout.split()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)


def netem_available() -> bool:
    """Whether this kernel has the netem queueing discipline (tried on a throwaway namespace)."""
    probe = f"{PREFIX}-probe"
    _ip("netns", "add", probe, check=False)
    try:
        _ip("-n", probe, "link", "set", "lo", "up", check=False)
        tried = subprocess.run(["ip", "netns", "exec", probe, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
                                "delay", "1ms"], capture_output=True, text=True, timeout=30)
        return tried.returncode == 0
    finally:
        _ip("netns", "del", probe, check=False)


@dataclass
class Host:
    name: str
    address: str
    namespace: str
    netem: bool = False
    rules: list[str] = field(default_factory=list)  # what is applied now, for the log

    @property
    def prefix(self) -> tuple[str, ...]:
        return ("ip", "netns", "exec", self.namespace)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.prefix, *args], check=check, capture_output=True, text=True, timeout=30)

    def cut_off(self, addresses: list[str] | None = None) -> None:
        """Drop every packet to and from ``addresses`` (None: everyone but this host itself)."""
        if addresses is None:
            self.run("iptables", "-I", "OUTPUT", "-o", "eth0", "-j", "DROP")
            self.run("iptables", "-I", "INPUT", "-i", "eth0", "-j", "DROP")
            self.rules.append("cut off from everything")
            return
        for address in addresses:
            self.run("iptables", "-I", "OUTPUT", "-d", address, "-j", "DROP")
            self.run("iptables", "-I", "INPUT", "-s", address, "-j", "DROP")
        self.rules.append(f"cut off from {', '.join(addresses)}")

    def degrade(self, *, loss: float, delay_ms: int) -> str:
        """A lossy, slow link; returns what was applied."""
        if self.netem:
            self.run("tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", f"{delay_ms}ms",
                     f"{delay_ms // 4}ms", "loss", f"{loss * 100:.0f}%")
            applied = f"netem loss {loss:.0%}, delay {delay_ms} ms"
        else:
            for chain, flag in (("INPUT", "-i"), ("OUTPUT", "-o")):
                self.run("iptables", "-I", chain, flag, "eth0", "-m", "statistic", "--mode", "random",
                         "--probability", f"{loss:.2f}", "-j", "DROP")
            applied = f"loss {loss:.0%} each way (iptables statistic; no netem in this kernel)"
        self.rules.append(applied)
        return applied

    def heal(self) -> None:
        self.run("iptables", "-F", check=False)
        if self.netem:
            self.run("tc", "qdisc", "del", "dev", "eth0", "root", check=False)
        self.rules.clear()


class Network:
    """The bridge and one namespace per host; ``up`` removes a stale set-up first, ``down``
    removes everything (safe to call twice, and after a failed ``up``)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.harness_address = f"{SUBNET}.1"
        self.hosts: dict[str, Host] = {}
        self._lock_file = None

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def lock(self) -> None:
        """One multi-host run at a time on this machine (they share the names); a run that died
        released the lock with its process, so waiting ends."""
        LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = LOCK_PATH.open("w")
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"another multi-host chaos run holds {LOCK_PATH}") from None
                time.sleep(1)

    def up(self) -> list[str]:
        """Returns what a stale set-up had left (and was removed)."""
        self.lock()
        stale = remove_stale()
        netem = netem_available()
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{self.harness_address}/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        for index, name in enumerate(self.names, start=1):
            namespace, outside, inside = f"{PREFIX}-{name}", f"{PREFIX}{index}", f"{PREFIX}p{index}"
            address = f"{SUBNET}.{10 + index}"
            _ip("netns", "add", namespace)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", namespace)
            _ip("-n", namespace, "link", "set", inside, "name", "eth0")
            _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
            _ip("-n", namespace, "link", "set", "eth0", "up")
            _ip("-n", namespace, "link", "set", "lo", "up")
            _ip("link", "set", outside, "master", BRIDGE)
            _ip("link", "set", outside, "up")
            self.hosts[name] = Host(name, address, namespace, netem)
        return stale

    def down(self) -> None:
        for host in self.hosts.values():
            kill_inside(host.namespace)
            _ip("netns", "del", host.namespace, check=False)
        self.hosts.clear()
        remove_stale()
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None
