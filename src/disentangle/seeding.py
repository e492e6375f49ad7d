"""Named, stable seeds: every random draw in the workflow comes from ``derive_seed``.

A seed is derived from a stream name (``"encoder"``, ``"init"``, ``"data"``, ...) and the integers
that identify the draw (network seed, task count, chunk index, ...). The derivation is a SHA-256
hash, so it is stable across Python sessions, machines and library versions, and two streams never
share a seed by accident.
"""

from __future__ import annotations

import hashlib

import torch


def derive_seed(stream: str, *parts: int | str) -> int:
    """Return a 63-bit seed for the random stream ``stream`` identified by ``parts``."""
    key = "|".join([stream, *(str(p) for p in parts)]).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "little") & ((1 << 63) - 1)


def generator(
    stream: str, *parts: int | str, device: str | torch.device = "cpu"
) -> torch.Generator:
    """A ``torch.Generator`` seeded with ``derive_seed(stream, *parts)``."""
    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(stream, *parts))
    return g


def uniform(shape: tuple[int, ...], bound: float, g: torch.Generator) -> torch.Tensor:
    """Draw U(-bound, bound) of ``shape`` (float32, CPU) from ``g``."""
    return (torch.rand(shape, generator=g, dtype=torch.float32) * 2.0 - 1.0) * bound
