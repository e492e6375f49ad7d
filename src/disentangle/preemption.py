"""Graceful preemption: a training loop checkpoints and exits when the scheduler asks it to stop.

SLURM sends SIGUSR1 ahead of a time limit when the job asks for it (``--signal=USR1@300``, set in
``profiles/slurm``) and SIGTERM on ``scancel`` or at the limit. Inside ``preemptible()`` those
signals only set a flag; the loop checks it at each step boundary, writes its checkpoint and
raises ``Preempted``, which the command line turns into exit status 75 (EX_TEMPFAIL), so that
Snakemake counts the job as failed and retries it, and the retry resumes from the checkpoint.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

PREEMPTED_EXIT = 75  # EX_TEMPFAIL: try again later
SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class Preempted(SystemExit):
    """Raised by a training loop after it checkpointed on a preemption signal."""

    def __init__(self, step: int):
        super().__init__(PREEMPTED_EXIT)
        self.step = step


class StopFlag:
    """Set by the signal handler; read by the loop at step boundaries."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __bool__(self) -> bool:
        return self.signal is not None


@contextlib.contextmanager
def preemptible() -> Iterator[StopFlag]:
    """Within the block, SIGTERM and SIGUSR1 set the returned flag instead of killing the process
    (only in the main thread, where Python can install handlers)."""
    flag = StopFlag()
    previous = {}

    def handler(signum, _frame):
        flag.signal = signum

    try:
        for sig in SIGNALS:
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave the default behaviour
        previous.clear()
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
