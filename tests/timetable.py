"""Jobs due at given instants, run by a few threads: the traffic of the chaos and soak runs."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import traceback
from collections.abc import Callable


class Timetable:
    """``schedule(at, job)`` runs ``run(job)`` on one of ``threads`` threads once the monotonic
    clock reaches ``at``. A job that raises is written to ``errors`` (a harness bug must show,
    not kill the thread)."""

    def __init__(self, threads: int, run: Callable[[tuple], None], errors: list[str]) -> None:
        self._run = run
        self._errors = errors
        self._heap: list[tuple[float, int, tuple]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._busy = 0
        self.threads = [threading.Thread(target=self._loop, name=f"client{i}", daemon=True) for i in range(threads)]

    def schedule(self, at: float, job: tuple) -> None:
        with self._cv:
            heapq.heappush(self._heap, (at, next(self._seq), job))
            self._cv.notify()

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def idle(self) -> bool:
        with self._cv:
            return not self._heap and self._busy == 0

    def pending(self) -> int:
        with self._cv:
            return len(self._heap) + self._busy

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while True:
                    if self._stop:
                        return
                    if self._heap and self._heap[0][0] <= time.monotonic():
                        _, _, job = heapq.heappop(self._heap)
                        self._busy += 1
                        break
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else 1.0
                    self._cv.wait(max(0.01, min(timeout, 1.0)))
            try:
                self._run(job)
            except Exception:  # noqa: BLE001 - a harness bug must show, not kill the thread
                self._errors.append(traceback.format_exc(limit=4))
            finally:
                with self._cv:
                    self._busy -= 1
