"""The checkpoint skeleton both trainers share (disentangle.checkpointing)."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch

from disentangle.checkpointing import Checkpointer, NonFiniteLoss, finite_members
from disentangle.integrity import sidecar_path
from disentangle.io import load_torch
from disentangle.preemption import PREEMPTED_EXIT, Preempted


def make(tmp_path, messages, guard="g1", **kw):
    kw = {"total": 10, "every": 4, "log": messages.append, **kw}
    return Checkpointer(tmp_path / "run.ckpt", guard, "run", **kw)


def steps(ckpt, start=0, state=lambda: {"x": torch.ones(2)}):
    """Drive ``maybe_save`` like a loop; the step at which it asked the loop to stop, or None."""
    for step in range(start, ckpt.total):
        if ckpt.maybe_save(step + 1, state):
            return step + 1
    return None


def test_saves_every_n_steps_but_not_the_last(tmp_path):
    messages, saved = [], []
    ckpt = make(tmp_path, messages, total=12)
    ckpt.save = lambda step, state: saved.append(step)
    assert steps(ckpt) is None
    assert saved == [4, 8] and messages == []  # step 12 is the last: the final file follows


def test_resume_returns_the_saved_state_and_logs_it(tmp_path):
    messages = []
    ckpt = make(tmp_path, messages)
    assert ckpt.resume() is None and messages == []  # nothing there: start afresh, silently
    ckpt.save(4, {"x": torch.arange(3), "history": [{"step": 4}]})
    state = make(tmp_path, messages).resume()
    assert state["step"] == 4 and torch.equal(state["x"], torch.arange(3))
    assert state["format"] == "disentangle.checkpoint/1" and state["guard"] == "g1"
    assert messages == ["resuming run from checkpoint at step 4/10"]


def test_a_foreign_or_damaged_checkpoint_is_not_resumed(tmp_path):
    messages = []
    make(tmp_path, messages).save(4, {})
    assert make(tmp_path, messages, guard="other").resume() is None
    assert "belongs to other settings (g1 != other)" in messages[-1]
    path = tmp_path / "run.ckpt"
    path.write_bytes(path.read_bytes()[:50])
    assert make(tmp_path, messages).resume() is None
    assert messages[-1].endswith("starting afresh from step 0")


def test_stop_after_saves_and_asks_the_loop_to_stop(tmp_path):
    messages = []
    ckpt = make(tmp_path, messages, stop_after=6, unit="batches")
    assert steps(ckpt) == 6
    assert load_torch(tmp_path / "run.ckpt")["step"] == 6
    assert messages == ["stopping after 6 batches as requested (checkpoint saved)"]
    assert steps(make(tmp_path, messages, stop_after=10)) is None  # stop_after at the end: no stop


def test_a_signal_checkpoints_at_the_next_step_and_exits_75(tmp_path):
    messages = []
    ckpt = make(tmp_path, messages, every=100)
    with pytest.raises(Preempted) as err, ckpt.preemptible() as flag:
        assert ckpt.maybe_save(1, dict) is False
        os.kill(os.getpid(), signal.SIGUSR1)  # only sets the flag inside the block
        assert flag and flag.signal == signal.SIGUSR1
        ckpt.maybe_save(2, lambda: {"y": 1})
    assert err.value.code == PREEMPTED_EXIT and err.value.step == 2
    assert load_torch(tmp_path / "run.ckpt")["y"] == 1
    assert messages[-1].startswith(f"signal {int(signal.SIGUSR1)} received: checkpoint saved at")
    assert not ckpt.stop  # the handler is gone with the block, and so is the flag
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL


def test_a_state_function_that_raises_saves_nothing(tmp_path):
    def diverged():
        raise NonFiniteLoss("run: non-finite loss")

    with pytest.raises(NonFiniteLoss):
        steps(make(tmp_path, []), state=diverged)
    assert not (tmp_path / "run.ckpt").exists()


def test_finish_removes_the_checkpoint_and_its_sidecar(tmp_path):
    ckpt = make(tmp_path, [])
    ckpt.save(4, {})
    assert sidecar_path(tmp_path / "run.ckpt").exists()
    ckpt.finish()
    assert not (tmp_path / "run.ckpt").exists()
    assert not sidecar_path(tmp_path / "run.ckpt").exists()
    ckpt.finish()  # nothing left: no error


def test_finite_members_reads_the_leading_axis():
    a = torch.zeros((3, 4, 2))
    b = torch.zeros((3, 5))
    b[1, 2] = math.inf
    a[2, 0, 1] = math.nan
    assert finite_members([a, b], 3) == [True, False, False]
    assert finite_members([torch.zeros(4)]) == [True] and finite_members([], 2) == [True, True]
    err = NonFiniteLoss("one line")
    assert err.code == "one line" and isinstance(err, SystemExit)
