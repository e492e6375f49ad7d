"""The skeleton both trainers share: checkpoint, resume, preemption, divergence, clean-up.

``training.train_ensemble`` and ``generative.train.train_generative`` run the same outline around
their own loop body::

    ckpt = Checkpointer(checkpoint_path, guard, name, total=n_steps, every=checkpoint_every,
                        log=log, stop_after=stop_after)
    state = ckpt.resume()             # this run's last checkpoint, or None: start afresh
    ...                               # restore the weights, optimisers and logs from ``state``
    with ckpt.preemptible():          # from here SIGTERM / SIGUSR1 only set a flag
        for step in range(start, n_steps):
            ...                       # forward, loss, update, log
            if ckpt.maybe_save(step + 1, checkpoint_state):
                return None           # stop_after: as if killed right after a checkpoint
    ...                               # write the final file
    ckpt.finish()                     # which supersedes the checkpoint

What a checkpoint is and when one is trusted:
- It is written atomically with a SHA-256 sidecar (``io.atomic_torch_save``) and holds the format,
  a *guard* (a hash of everything the run's result depends on: the spec and the ingredients'
  digest, or the generative model's settings and its data's identity), the number of steps done
  and whatever the trainer's ``state_fn`` returns (tensors and plain data).
- ``resume`` uses it only if it is intact and its guard matches (``io.load_checkpoint``): a
  damaged, foreign or other-settings checkpoint is ignored with one log line and the run starts
  from step 0. Training is deterministic, so a fresh start ends with the weights an
  uninterrupted run would have; resuming from a damaged file would silently change them. A
  checkpoint written on another device type is ignored the same way (a checkpoint records the
  type, ``cpu`` or ``cuda``, it was written on: ``device_type``): CPU and CUDA kernels round
  differently, so a run resumed across them would end with weights neither device gives, and
  nothing would say so.
- ``maybe_save`` runs after every step. It writes a checkpoint every ``every`` steps; when
  ``stop_after`` steps are done (tests, time-boxed jobs), after which the loop returns None; and
  when a preemption signal has arrived (``disentangle.preemption``), after which it raises
  ``Preempted`` (exit status 75: Snakemake retries the job, and the retry resumes). The last step
  never gets a checkpoint: the final file follows it.

A diverged run writes nothing: a trainer raises ``NonFiniteLoss`` (exit status 1, one line) when a
loss it logs is NaN or infinite, or when ``finite_members`` finds a non-finite weight at the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import torch

from disentangle.io import atomic_torch_save, load_checkpoint, unlink
from disentangle.preemption import Preempted, StopFlag, preemptible

CHECKPOINT_FORMAT = "disentangle.checkpoint/1"  # shared by every trainer (io.load_checkpoint)


class NonFiniteLoss(SystemExit):
    """Training diverged: a loss (or, after the last step, a weight) is NaN or infinite.

    A ``SystemExit`` whose code is its one-line message, so that the command line stops with exit
    status 1 and that line (no traceback) in the job's log, before anything is written.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def finite_members(tensors: Iterable[torch.Tensor], k: int = 1) -> list[bool]:
    """For each of ``k`` members (the leading axis of every tensor; ``k`` = 1: one model), whether
    all its entries are finite. One device synchronisation, at the end of training: the last update
    can still overflow a weight after a finite loss."""
    finite = None
    for t in tensors:
        ok = torch.isfinite(t.detach()).reshape(k, -1).all(dim=1)
        finite = ok if finite is None else finite & ok
    return [True] * k if finite is None else finite.tolist()


class Checkpointer:
    """Checkpoints of one training run at ``path``: resume, periodic saves, preemption, clean-up.

    ``guard`` identifies what the checkpoint belongs to; ``name`` names the run in log lines
    (``resuming <name> from checkpoint at step s/total``); ``total`` is the run's step count,
    ``every`` the checkpoint interval in steps, ``unit`` the word for a step in the
    ``stop_after`` line ("batches" for the ensemble), ``device_type`` the type of the device the
    run trains on (``cpu``, ``cuda``; None: not checked), recorded in every checkpoint.
    """

    def __init__(
        self,
        path: str | Path,
        guard: str,
        name: str,
        *,
        total: int,
        every: int,
        log: Callable[[str], None],
        stop_after: int | None = None,
        unit: str = "steps",
        fmt: str = CHECKPOINT_FORMAT,
        device_type: str | None = None,
    ):
        self.path = Path(path)
        self.device_type = device_type
        self.guard, self.name, self.fmt = guard, name, fmt
        self.total, self.every, self.stop_after, self.unit = total, every, stop_after, unit
        self.log = log
        self.stop = StopFlag()  # set by a preemption signal inside ``preemptible()``

    def resume(self) -> dict | None:
        """The checkpoint to resume from (its ``step`` and the trainer's state), or None to start
        afresh (none there, or damaged, foreign, of other settings: one log line says which)."""
        state = load_checkpoint(self.path, self.guard, self.fmt, self.log)
        saved_on = None if state is None else state.get("device_type")
        if saved_on is not None and self.device_type is not None and saved_on != self.device_type:
            self.log(
                f"checkpoint {self.path} of {self.name} was written on {saved_on}, this run is on "
                f"{self.device_type}: ignoring it and starting from scratch (a run resumed across "
                "device types would mix their rounding)"
            )
            return None
        if state is not None:
            self.log(f"resuming {self.name} from checkpoint at step {state['step']}/{self.total}")
        return state

    def save(self, step: int, state: dict) -> None:
        """Write the checkpoint of ``step`` now (atomically, with its SHA-256 sidecar)."""
        head = {"format": self.fmt, "guard": self.guard, "step": step}
        if self.device_type is not None:
            head["device_type"] = self.device_type
        atomic_torch_save({**head, **state}, self.path)

    def maybe_save(self, done: int, state_fn: Callable[[], dict]) -> bool:
        """Call after each step, ``done`` steps in. Saves ``state_fn()`` when a checkpoint is due,
        ``stop_after`` is reached or a preemption signal arrived (then raises ``Preempted``).
        Returns True when the loop must end here (``stop_after``; the checkpoint is saved)."""
        if done >= self.total:
            return False  # the final file follows: no checkpoint of the last step
        if self.stop_after is not None and done >= self.stop_after:
            self.save(done, state_fn())
            self.log(f"stopping after {done} {self.unit} as requested (checkpoint saved)")
            return True
        if self.stop:
            self.save(done, state_fn())
            self.log(
                f"signal {self.stop.signal} received: checkpoint saved at step {done}; exiting "
                "so that the job is retried and resumes from it"
            )
            raise Preempted(done)
        if done % self.every == 0:
            self.save(done, state_fn())
        return False

    @contextlib.contextmanager
    def preemptible(self) -> Iterator[StopFlag]:
        """Within the block, SIGTERM and SIGUSR1 set ``self.stop`` instead of killing the process
        (``disentangle.preemption.preemptible``); ``maybe_save`` then checkpoints and exits."""
        with preemptible() as flag:
            self.stop = flag
            try:
                yield flag
            finally:
                self.stop = StopFlag()

    def finish(self) -> None:
        """Remove the checkpoint and its sidecar: the final file, now written, supersedes them."""
        unlink(self.path)
