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
without in child processes (benchmarks/README.md, "Memory allocator").

Peak memory does not grow (freed memory is reused before the heap grows), but a process keeps
its peak until it exits; every workflow command is a short-lived process. Set
``DISENTANGLE_MALLOC_TUNING=0`` to leave the allocator alone. Only glibc is tuned; other C
libraries (macOS, musl) are left as they are.
"""

from __future__ import annotations

import ctypes
import os
import platform

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
