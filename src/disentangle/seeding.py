"""Named, stable seeds: every random draw in the workflow comes from ``derive_seed``.

A seed is derived from a stream name (``"encoder"``, ``"init"``, ``"data"``, ...) and the integers
that identify the draw (network seed, task count, chunk index, ...). The derivation is a SHA-256
hash, so it is stable across Python sessions, machines and library versions, and two streams never
share a seed by accident.
"""

from __future__ import annotations

import hashlib
import math

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


# Counter-based hashing: random bits that are a pure function of integer keys, the same on any
# device and in any batch layout (GPT-2's dropout masks, the trials' noise of the ``input`` and
# ``units`` noise kinds). A murmur3 finaliser round over int32 tensors.

M32 = 0xFFFFFFFF


def as_int32(x: torch.Tensor) -> torch.Tensor:
    """int64 values in [0, 2³²) → int32 holding the same 32 bits (two's complement)."""
    return (x - ((x >> 31) << 32)).to(torch.int32)


def mix32_(x: torch.Tensor) -> torch.Tensor:
    """The murmur3 32-bit finaliser (xorshift-multiply rounds), in place on an int32 tensor.

    int32 products wrap modulo 2³² as the unsigned hash needs; the right shifts are arithmetic,
    so each is masked to its logical result. int32 rather than int64 halves the memory traffic:
    this runs on ~1e6 elements every GPT-2 training step."""
    x.bitwise_xor_((x >> 16).bitwise_and_(0xFFFF))
    x.mul_(0x7FEB352D)
    x.bitwise_xor_((x >> 15).bitwise_and_(0x1FFFF))
    x.mul_(0x5BD1E995)
    return x.bitwise_xor_((x >> 16).bitwise_and_(0xFFFF))


def mix32(value: int) -> int:
    """``mix32_`` of one unsigned 32-bit integer, in Python: the same bits, no tensor."""
    x = value & M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x5BD1E995) & M32
    return x ^ (x >> 16)


def signed32(value: int) -> int:
    """An unsigned 32-bit integer as the int32 holding the same bits."""
    return value - (1 << 32) if value >= 1 << 31 else value


#: keys are carried as float32 channels of the network input (``tasks.evidence``): 24 bits are
#: exact there
KEY_BITS = 24


def hash_rows(x: torch.Tensor, salt: int) -> torch.Tensor:
    """A 24-bit key per row of the float32 tensor ``x`` (..., D) → (...,) int64 in [0, 2²⁴):
    the rows' bits mixed with ``salt``. Equal rows give equal keys; rows drawn from a continuous
    distribution give keys that behave as independent uniform draws."""
    bits = x.float().contiguous().view(torch.int32)
    h = torch.full(bits.shape[:-1], signed32(mix32(salt)), dtype=torch.int32, device=x.device)
    for d in range(bits.shape[-1]):
        h = mix32_(h.bitwise_xor(bits[..., d]).add_(0x61C88647))
    return h.to(torch.int64) & ((1 << KEY_BITS) - 1)


def hashed_normal(keys: torch.Tensor, n: int) -> torch.Tensor:
    """n standard normal numbers per key: keys (...,) int64 → (..., n) float32, element j a pure
    function of (key, j) whatever n is, on the keys' device. The 32-bit hashes of (key, 2j) and
    (key, 2j + 1) give two uniforms in (0, 1) (their top 24 bits, offset by half a step), which
    Box–Muller turns into element j. The hash bits are the same on every device; log, cos and
    sqrt may round the last bit differently on CUDA."""
    idx = torch.arange(2 * n, device=keys.device, dtype=torch.int64)
    weyl = as_int32((idx * 0x9E3779B9) & M32)  # (2n,)
    key = mix32_(as_int32(keys & M32).clone())
    bits = mix32_(weyl + key.unsqueeze(-1))  # (..., 2n)
    top = ((bits >> 8) & 0xFFFFFF).to(torch.float32)
    uniform_ = ((top + 0.5) * (1.0 / (1 << 24))).unflatten(-1, (n, 2))
    u1, u2 = uniform_[..., 0], uniform_[..., 1]
    return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
