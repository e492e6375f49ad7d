"""A killed job leaves no trainer behind (``disentangle.runtime.die_with_parent``).

Snakemake stops a job by killing the rule's shell wrapper; the ``python -m disentangle`` child
must then stop too instead of running on, orphaned, and writing its output behind Snakemake's
back. The tests kill a real ``bash -c '... & wait'`` wrapper with SIGKILL and watch the child.
Linux only: elsewhere ``die_with_parent`` does nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, tiny_experiment, train_command
from disentangle import runtime
from disentangle.data.ingredients import write_ingredients

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")

PR_GET_PDEATHSIG = 2


def running(pid: int) -> bool:
    """Whether ``pid`` is alive: a zombie (dead, not yet reaped by its new parent) is not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def start_wrapped(command: list[str], log: Path) -> tuple[subprocess.Popen, int]:
    """``bash -c 'command 2> log & echo $!; wait'``, as a rule's shell runs it; the wrapper and
    its python child's pid."""
    line = " ".join(f"'{part}'" for part in command)
    wrapper = subprocess.Popen(
        ["bash", "-c", f"{line} 2> '{log}' & echo $!; wait"],
        cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
        text=True,
    )
    return wrapper, int(wrapper.stdout.readline())


def kill_wrapper_and_wait(wrapper: subprocess.Popen, child: int, timeout: float = 15.0) -> bool:
    """SIGKILL the wrapper (nothing can forward a signal then); whether the child died in time.
    A child that outlived it is killed here, so that no test leaves a process behind."""
    os.kill(wrapper.pid, signal.SIGKILL)
    wrapper.wait()
    wrapper.stdout.close()
    gone = wait_until(lambda: not running(child), timeout)
    if not gone:
        os.kill(child, signal.SIGKILL)
    return gone


@pytest.fixture
def training(tmp_path):
    """The training rule's command for a tiny experiment long enough to be killed mid-way."""
    exp = tiny_experiment(
        "orphan",
        training={"n_batches": 5000, "batch_size": 8, "checkpoint_every": 100000, "log_every": 50},
    )
    ing = tmp_path / "ing.pt"
    write_ingredients(exp, str(ing), 256, 64, 0)
    out, ckpt = tmp_path / "m.pt", tmp_path / "ckpt.pt"
    return train_command("orphan", json.dumps(exp.to_dict()), ing, out, ckpt), out, ckpt


def test_trainer_checkpoints_and_exits_when_its_wrapper_is_killed(tmp_path, training):
    """Mid-training, the death signal (SIGTERM) reaches the preemption handler: the trainer saves
    its checkpoint at the next step and exits, without its output."""
    command, out, ckpt = training
    log = tmp_path / "log.txt"
    wrapper, child = start_wrapped(command, log)
    # (the wrapper's redirection creates the log: it may not exist yet at the first look)
    started = lambda: log.exists() and "step 50/" in log.read_text()  # noqa: E731
    assert wait_until(lambda: started() or not running(child), 120)
    assert running(child), f"the trainer ended early:\n{log.read_text()}"
    gone = kill_wrapper_and_wait(wrapper, child)
    assert not out.exists(), "the orphaned trainer finished and wrote its output"
    assert gone, "the trainer outlived its killed wrapper"
    assert "signal 15 received: checkpoint saved at step" in log.read_text()
    assert ckpt.exists()


def test_process_starting_up_exits_when_its_wrapper_is_killed(tmp_path, training):
    """Killed during its imports (outside any training loop), SIGTERM ends it straight away."""
    command, out, ckpt = training
    log = tmp_path / "log.txt"
    wrapper, child = start_wrapped(command, log)
    # past die_with_parent once the command line's imports map numpy's libraries
    maps = Path(f"/proc/{child}/maps")
    assert wait_until(lambda: not running(child) or "numpy" in maps.read_text(), 60)
    assert kill_wrapper_and_wait(wrapper, child), "the process outlived its killed wrapper"
    assert not ckpt.exists() and not out.exists()


def run_python(code: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, **kwargs
    )


def test_death_signal_is_requested_and_can_be_switched_off():
    code = (
        "import ctypes, os\n"
        "from disentangle.runtime import die_with_parent\n"
        "print(die_with_parent(os.getppid()))\n"
        "sig = ctypes.c_int(0)\n"
        f"ctypes.CDLL(None).prctl({PR_GET_PDEATHSIG}, ctypes.byref(sig), 0, 0, 0)\n"
        "print(sig.value)\n"
    )
    assert run_python(code).stdout.split() == ["True", str(int(signal.SIGTERM))]
    env = {**os.environ, runtime.DEATH_SWITCH: "0"}
    assert run_python(code, env=env).stdout.split() == ["False", "0"]


def test_a_parent_gone_before_the_request_ends_the_process():
    """The race: the parent seen at start is no longer the parent once the request is in place."""
    code = "from disentangle.runtime import die_with_parent\ndie_with_parent(1)\nprint('alive')\n"
    done = run_python(code)
    assert done.returncode == runtime.SIGTERM_EXIT and "alive" not in done.stdout
    assert "parent process 1 exited before start-up finished" in done.stderr


def test_sigterm_outside_a_training_loop_exits_through_finally():
    code = (
        "import time\n"
        "from disentangle.runtime import exit_on_sigterm\n"
        "exit_on_sigterm()\n"
        "try:\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(60)\n"
        "finally:\n"
        "    print('cleaned up', flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == runtime.SIGTERM_EXIT
    assert proc.stdout.read().strip() == "cleaned up"
    proc.stdout.close()
