"""An SMTP sink (aiosmtpd on loopback) that fails a share of attempts on purpose.

For each DATA command it draws: refuse with 451, stall past the client's timeout and then refuse,
hold the answer for a moment (a window in which the chaos run can SIGKILL the worker that is
sending), or accept at once. Only accepted messages are recorded, with their Message-ID and
recipients: what a real mail server would have taken responsibility for. A message accepted after
its sender was killed counts as accepted: the server has it, whatever the sender believes.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Accepted:
    message_id: str
    to: str
    subject: str
    at: float


class ChaosHandler:
    def __init__(self, *, seed: int, refuse_share: float, stall_share: float, stall_seconds: float,
                 hold_share: float, hold_seconds: tuple[float, float]) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.refuse_share = refuse_share
        self.stall_share = stall_share
        self.stall_seconds = stall_seconds
        self.hold_share = hold_share
        self.hold_seconds = hold_seconds
        self.accepted: list[Accepted] = []
        self.counts: Counter[str] = Counter()
        self.in_data = 0
        self.enabled = True  # faults on; the end of the run turns them off to drain

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            draw = self._rng.random()
            hold = self._rng.uniform(*self.hold_seconds)
            self.in_data += 1
        try:
            if self.enabled and draw < self.refuse_share:
                self.counts["refused"] += 1
                return "451 4.3.0 Mail server temporarily unavailable (chaos)"
            if self.enabled and draw < self.refuse_share + self.stall_share:
                self.counts["stalled"] += 1  # counted first: the client hangs up during the stall
                await asyncio.sleep(self.stall_seconds)
                return "451 4.4.2 Timed out (chaos)"
            if self.enabled and draw < self.refuse_share + self.stall_share + self.hold_share:
                await asyncio.sleep(hold)
                self.counts["held"] += 1
            raw = envelope.original_content or envelope.content
            if isinstance(raw, str):
                raw = raw.encode()
            message = email.message_from_bytes(raw, policy=email.policy.default)
            accepted = Accepted(
                message_id=str(message["Message-ID"]).strip(),
                to=",".join(envelope.rcpt_tos),
                subject=str(message["Subject"]).strip(),
                at=time.time(),
            )
            with self._lock:
                self.accepted.append(accepted)
                self.counts["accepted"] += 1
            return "250 Message accepted for delivery"
        finally:
            with self._lock:
                self.in_data -= 1

    def snapshot(self) -> list[Accepted]:
        with self._lock:
            return list(self.accepted)


class ChaosSink:
    def __init__(self, port: int, handler: ChaosHandler, *, host: str = "127.0.0.1") -> None:
        self.port = port
        self.handler = handler
        self.controller = Controller(handler, hostname=host, port=port, ready_timeout=10)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        try:
            self.controller.stop()
        except Exception:  # noqa: BLE001 - best effort at the end of a run
            pass
