"""The fixed random mixing encoder f (docs/replication.md, "Task"; poster: "randomly initialised
MLP").

f = Linear(D→100), act, Linear(100→100), act, Linear(100→40) with PyTorch's default ``nn.Linear``
initialisation (weights and biases ~ U(±1/√fan_in)). ``act`` is ReLU (main text) or x² (Fig. S1).
f is frozen: it has no gradients and is evaluated under ``torch.no_grad`` by the training loop.
Every network gets its own f, drawn from the seed stream ``("encoder", seed)``.

An ensemble of K encoders is stored as stacked tensors with a leading member axis, so that K
different encoders are applied with one batched matmul per layer.
"""

from __future__ import annotations

import math

import torch

from disentangle.seeding import generator, uniform
from disentangle.tasks.spec import ENCODER_WIDTHS as ENCODER_WIDTHS  # defined without torch

ACTIVATIONS = ("relu", "quadratic", "fourier")
#: rows per member and encoder pass on the CPU: a 100-wide activation of 1600 rows is 640 KB, so a
#: thread's member stays in its core's L2 cache (docs/performance.md, "The training engine")
CHUNK_ROWS = 1600


def init_encoder_member(
    dim: int, seed: int, kind: str = "relu", frequency: float = 0.0
) -> dict[str, torch.Tensor]:
    """Draw one network's encoder from the stream ``("encoder", seed)``.

    Returns weights stored input-major (``w{i}`` of shape (fan_in, fan_out)) and biases ``b{i}``.
    ``kind = "fourier"`` (beyond the paper): one layer of random Fourier features,
    f_k(x) = cos(ω g_k·x + φ_k) for the F = 40 outputs, g_k ~ N(0, I_D) and φ_k ~ U(0, 2π) from the
    same stream, ω = ``frequency`` folded into ``w0``. Its nonlinearity grows with ω: at small ω it
    is nearly affine on the latent square, at large ω each unit oscillates across it.
    """
    if kind == "fourier":
        if not frequency > 0:
            raise ValueError(f"fourier encoder: frequency = {frequency}, expected > 0")
        g = generator("encoder", seed)
        n_out = ENCODER_WIDTHS[-1]
        gains = torch.randn((dim, n_out), generator=g)
        phases = torch.rand((n_out,), generator=g) * (2 * math.pi)
        return {"w0": (frequency * gains).contiguous(), "b0": phases}
    g = generator("encoder", seed)
    params: dict[str, torch.Tensor] = {}
    fan_in = dim
    for i, fan_out in enumerate(ENCODER_WIDTHS):
        bound = fan_in**-0.5
        params[f"w{i}"] = uniform((fan_out, fan_in), bound, g).T.contiguous()
        params[f"b{i}"] = uniform((fan_out,), bound, g)
        fan_in = fan_out
    return params


class MixingEncoder:
    """K frozen mixing encoders applied at once; ``params`` values have a leading member axis."""

    def __init__(self, params: dict[str, torch.Tensor], activation: str = "relu") -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"encoder activation {activation!r}: expected one of {ACTIVATIONS}")
        self.params = {k: v.detach() for k, v in params.items()}
        self.activation = activation

    @classmethod
    def from_members(cls, members: list[dict[str, torch.Tensor]], activation: str = "relu"):
        """Stack per-network encoders (from ``init_encoder_member``) into one ensemble."""
        keys = members[0].keys()
        return cls({k: torch.stack([m[k] for m in members]) for k in keys}, activation)

    @property
    def n_layers(self) -> int:
        return sum(1 for name in self.params if name.startswith("w"))

    @property
    def out_features(self) -> int:
        return self.params[f"w{self.n_layers - 1}"].shape[-1]

    @property
    def n_members(self) -> int:
        return self.params["w0"].shape[0]

    def distinct(self) -> tuple[MixingEncoder, torch.Tensor | None]:
        """The distinct members' encoders and, for each member, the index of its encoder among
        them (``None`` when every member's encoder is distinct). An ensemble's networks share the
        encoder of their seed (``("encoder", seed)``), so an experiment with N task counts holds
        each encoder N times; encoding the evidence once per distinct encoder and gathering is the
        same computation, bit for bit (every member is encoded independently), N times cheaper."""
        k = self.n_members
        flat = torch.cat([p.reshape(k, -1) for p in self.params.values()], dim=1)
        first: list[int] = []
        index = []
        for i in range(k):
            match = next((u for u, j in enumerate(first) if torch.equal(flat[j], flat[i])), None)
            if match is None:
                first.append(i)
                match = len(first) - 1
            index.append(match)
        if len(first) == k:
            return self, None
        keep = torch.tensor(first)
        params = {name: p[keep] for name, p in self.params.items()}
        return MixingEncoder(params, self.activation), torch.tensor(index)

    def to(self, device: torch.device | str) -> MixingEncoder:
        return MixingEncoder({k: v.to(device) for k, v in self.params.items()}, self.activation)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Encode ``x`` of shape (K, ..., D) with member k's f applied to ``x[k]``.

        On the CPU the work is tiled so that each thread's activations stay in its L2 cache:
        groups of as many members as torch has threads (one batched matmul spreads its members
        over the threads), ``CHUNK_ROWS`` rows at a time. All K members at once would put
        K × rows × 100 floats in flight: 12.8 MB at K = 100 and one batch of rows, and the
        whole pass ran at 43-46 GFLOP/s on 2 threads where the tiled one runs at 75-100
        (docs/performance.md, "The training engine"). Every row is computed independently by the
        same matmul kernels, so the tiling does not change the result (bit for bit:
        ``tests/test_encoder.py``)."""
        k, *middle, d = x.shape
        rows = x.reshape(k, -1, d)
        n = rows.shape[1]
        out = torch.empty((k, n, self.out_features), dtype=x.dtype, device=x.device)
        if x.is_cuda:
            group, chunk = k, max(n, 1)
        else:
            group, chunk = max(1, torch.get_num_threads()), CHUNK_ROWS
        for k0 in range(0, k, group):
            members = slice(k0, k0 + group)
            params = {name: p[members] for name, p in self.params.items()}
            for start in range(0, n, chunk):
                piece = slice(start, start + chunk)
                out[members, piece] = self._layers(rows[members, piece], params)
        return out.reshape(k, *middle, out.shape[-1])

    def _layers(self, h: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.activation == "fourier":  # one layer of random Fourier features
            return torch.cos_(torch.baddbmm(params["b0"].unsqueeze(1), h, params["w0"]))
        n_layers = self.n_layers
        for i in range(n_layers):
            h = torch.baddbmm(params[f"b{i}"].unsqueeze(1), h, params[f"w{i}"])
            if i < n_layers - 1:
                h = torch.relu_(h) if self.activation == "relu" else h.square_()
        return h
