"""The allocator tuning every workflow command applies (disentangle.runtime)."""

import subprocess
import sys

import pytest

from disentangle import runtime

GLIBC = runtime.is_glibc()


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_tuning_takes_on_glibc_and_can_be_repeated():
    assert runtime.tune_allocator() is True
    assert runtime.tune_allocator() is True


def test_the_switch_turns_it_off(monkeypatch):
    monkeypatch.setenv(runtime.ENV_SWITCH, "0")
    assert runtime.tune_allocator() is False


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_freed_tensors_pages_are_reused_not_refaulted():
    """A loop allocating and freeing 40 MiB tensors (above glibc's largest dynamic mmap threshold,
    32 MiB): untuned, glibc maps and unmaps each one (a page fault per 4 KiB, every iteration);
    tuned, the pages stay in the heap."""
    code = (
        "import resource, torch\n"
        "from disentangle.runtime import tune_allocator\n"
        "tune_allocator()\n"
        "x = torch.ones(10 << 20)\n"
        "(x * 2).sum()\n"
        "a = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(20):\n"
        "    (x * 2).sum()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - a)\n"
    )

    def faults(switch: str) -> int:
        env = {runtime.ENV_SWITCH: switch, "PATH": "/usr/bin:/bin"}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        ).stdout
        return int(out.strip().splitlines()[-1])

    untuned, tuned = faults("0"), faults("1")
    # untuned: 20 iterations × 10240 pages of 4 KiB (measured 204820); tuned: none from malloc
    # (measured 0-51200 on the development VM, whose memory monitor re-faults idle heap pages)
    assert untuned > 10 * 10240
    assert tuned < untuned / 2
