"""Process-level settings every workflow command applies before it starts working.

``tune_allocator`` keeps freed memory in the process instead of handing it back to the kernel.
glibc's malloc serves requests above a threshold (128 KiB, raised dynamically up to 32 MiB) with
a fresh ``mmap`` and unmaps them on ``free``, and trims the heap top beyond another threshold.
PyTorch on CPU allocates every intermediate tensor through malloc, so a loop over batches of a
few-MiB activations (a conv encoder at batch 256, a recurrent ensemble's states over 16384 trials)
maps, faults in page by page, zeroes and unmaps the same memory every iteration: on the 2-vCPU VM
this project is developed on, encoding dSprites images spent a third of its time in the kernel.
Raising the mmap and trim thresholds and padding heap growth makes the second batch reuse the
first batch's pages. ``python benchmarks/allocator.py`` measures it, the same work with and
without in child processes (docs/performance.md, "Generative models and the allocator").

Peak memory does not grow (freed memory is reused before the heap grows), but a process keeps
its peak until it exits; every workflow command is a short-lived process. Set
``DISENTANGLE_MALLOC_TUNING=0`` to leave the allocator alone. Only glibc is tuned; other C
libraries (macOS, musl) are left as they are.

``die_with_parent`` and ``exit_on_sigterm`` keep a killed job from leaving its trainer behind.
Snakemake stops a job by killing the rule's shell wrapper (SIGTERM, or SIGKILL when it is itself
killed); the ``python -m disentangle`` child would go on running, orphaned, and later write its
output (or a checkpoint) that Snakemake no longer knows about. ``disentangle.__main__`` therefore
asks the kernel, before anything heavy is imported, to send the process SIGTERM when its parent
dies (Linux's ``prctl(PR_SET_PDEATHSIG)``), and makes SIGTERM exit cleanly: outside a training
loop it raises ``SystemExit(143)`` (so ``finally`` blocks run and atomic writes remove their
temporary files); inside one, ``disentangle.preemption`` turns it, as before, into a checkpoint
at the next step and exit status 75. Linux only: macOS and the BSDs have no such call and are left
as they are (their orphans still run to completion). Set ``DISENTANGLE_DIE_WITH_PARENT=0`` to
keep a run alive without its parent, e.g. one started by hand from a shell you mean to close
(``nohup`` alone does not help: the death signal is SIGTERM, not SIGHUP).
"""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import sys

# mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

#: parameter → value. Thresholds of 2 GiB − 1 (the largest int mallopt takes): blocks below that
#: come from the heap, and the heap top is not trimmed until 2 GiB are free there. 1 GiB left a
#: 15-member LSTM's metrics pass (a 0.7 GB drive tensor per chunk) trimming and re-faulting:
#: 8.8 s and 690k faults vs 7.6 s and 40k. A 256 MiB pad makes the heap grow in big steps.
ALLOCATOR_SETTINGS = {
    M_MMAP_THRESHOLD: (1 << 31) - 1,
    M_TRIM_THRESHOLD: (1 << 31) - 1,
    M_TOP_PAD: 256 << 20,
}

ENV_SWITCH = "DISENTANGLE_MALLOC_TUNING"


def is_glibc() -> bool:
    """True on Linux with glibc, the only C library ``tune_allocator`` knows how to tune."""
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def tune_allocator() -> bool:
    """Apply ``ALLOCATOR_SETTINGS`` with glibc's ``mallopt``; True if every setting took.

    A no-op returning False when ``DISENTANGLE_MALLOC_TUNING=0`` or the C library is not glibc.
    Safe to call more than once."""
    if os.environ.get(ENV_SWITCH, "1").strip() == "0":
        return False
    if not is_glibc():
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")  # glibc's soname on every glibc platform
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in ALLOCATOR_SETTINGS.items())


PR_SET_PDEATHSIG = 1  # linux/prctl.h
DEATH_SWITCH = "DISENTANGLE_DIE_WITH_PARENT"
SIGTERM_EXIT = 128 + signal.SIGTERM  # the status a shell reports for a SIGTERM death: 143


def _on_sigterm(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)


def exit_on_sigterm() -> None:
    """Make SIGTERM raise ``SystemExit(143)`` in the main thread, so the process exits through its
    ``finally`` blocks rather than at once. ``disentangle.preemption.preemptible`` replaces the
    handler inside training loops (checkpoint first) and restores this one after them. The
    handler runs between Python bytecodes: a single long C call (a big decompression, one large
    tensor operation) finishes first."""
    signal.signal(signal.SIGTERM, _on_sigterm)


def die_with_parent(parent: int | None = None) -> bool:
    """Have the kernel send SIGTERM to this process when its parent exits; True if set.

    ``parent`` is the parent's pid as first seen (``os.getppid()`` at the very start of
    ``disentangle.__main__``). A parent that died before the request took effect no longer gets
    to signal us, so when ``os.getppid()`` differs after the request the process exits at once
    with status 143. (A parent that died during interpreter start-up, before the first
    ``getppid``, cannot be told from a legitimate one: that window is tens of milliseconds.)

    Linux counts the *thread* that started the process as its parent: a caller that starts
    ``python -m disentangle`` from a thread must keep that thread alive until the child ends (as
    Snakemake's job threads and ``subprocess.run`` do). A no-op returning False off Linux, when
    ``DISENTANGLE_DIE_WITH_PARENT=0``, or when the C library has no ``prctl``.
    """
    if os.environ.get(DEATH_SWITCH, "1").strip() == "0":
        return False
    if platform.system() != "Linux":
        return False
    parent = os.getppid() if parent is None else int(parent)
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # the C library's symbols (glibc, musl)
    except (OSError, AttributeError):
        return False
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    prctl.restype = ctypes.c_int
    if prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:
        print(
            f"disentangle: parent process {parent} exited before start-up finished; exiting",
            file=sys.stderr,
        )
        raise SystemExit(SIGTERM_EXIT)
    return True
