"""Progress lines with an ETA for the jobs that run longer than a minute.

A job's log (Snakemake's ``log:``) should say how far it is and when it will end, not stay empty
until the job is done. ``Progress`` prints ``<label>: <done>/<total> (<pct>) | <elapsed> elapsed,
ETA <left>`` to stderr, at most once every ``every`` seconds and once at the end; the ETA assumes
the remaining units take as long as the finished ones did on average. Cheap enough for a hot loop
(one ``time.monotonic()`` per ``update``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def format_seconds(s: float) -> str:
    """``1h02m`` from an hour on, else ``4m05s``."""
    s = int(round(max(s, 0.0)))
    return f"{s // 3600}h{(s % 3600) // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Progress:
    """``update(done)`` as units finish; prints at most every ``every`` seconds and at the end."""

    def __init__(
        self,
        label: str,
        total: int,
        every: float = 30.0,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.every = label, max(int(total), 1), every
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.clock = clock
        self.start = self.last = clock()

    def line(self, done: int, now: float) -> str:
        elapsed = now - self.start
        left = elapsed / done * (self.total - done) if done else float("nan")
        eta = format_seconds(left) if done else "unknown"
        return (
            f"{self.label}: {done}/{self.total} ({100 * done / self.total:.0f}%) | "
            f"{format_seconds(elapsed)} elapsed, ETA {eta}"
        )

    def update(self, done: int) -> None:
        now = self.clock()
        if done >= self.total or now - self.last >= self.every:
            self.log(self.line(done, now))
            self.last = now
