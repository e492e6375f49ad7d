"""Encoders and decoders shared by the generative models.

Images (C×64×64): dlib's ``conv_encoder`` / ``deconv_decoder`` (reference notes section 2), with
TF "same" padding written as PyTorch padding:
  encoder conv 32@4×4 s2 → 32@4×4 s2 → 64@2×2 s2 → 64@2×2 s2 (32→16→8→4 px) → flatten 1024 →
  dense 256 → two heads of ``n_latent`` (mean, log-variance);
  decoder dense 256 → dense 1024 → 64×4×4 → deconv 64@4×4 s2 → 32@4×4 s2 → 32@4×4 s2 →
  C@4×4 s2 (logits, 64×64).
The last two encoder kernels are 2×2 as in dlib (not Higgins' 4×4). ReLU everywhere by default.
Vectors (e.g. the 40-d observations of the multi-task task, the iVAE synthetic data): MLPs with
hidden sizes ``(100, 100)`` and leaky-ReLU (slope 0.2) by default, as in the iVAE reference (3
layers, hidden 100).

Initialisation is TF's default (Glorot-uniform weights, zero biases), drawn from an explicit
``torch.Generator`` (``glorot_init_``), not PyTorch's default init.

Memory layout: the conv stacks keep their weights and activations channels-last (NHWC strides,
``CONV_MEMORY_FORMAT``). The maths is unchanged (same tensors, same logical shapes, the flatten
before the dense layer still reads C, H, W order); only the kernels oneDNN picks differ. A
dSprites training step (batch 64) measured 1.1-1.6× faster on an AVX2 host, depending on the
method and thread count, and within noise on an AVX512 one (benchmarks/generative_step.py,
docs/performance.md, "Generative models and the allocator").
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

IMAGE_SIZE = 64
CONV_FEATURES = 256
DEFAULT_HIDDEN = (100, 100)
ACTIVATIONS = ("relu", "leaky_relu")
LEAKY_SLOPE = 0.2  # TF's default negative slope
CONV_MEMORY_FORMAT = torch.channels_last


def activation_module(name: str) -> nn.Module:
    """``relu`` or ``leaky_relu`` (slope 0.2, TF's default) as a module."""
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_SLOPE)
    raise ValueError(f"activation = {name!r}: expected one of {ACTIVATIONS}")


def glorot_init_(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Glorot-uniform weights and zero biases for every dense / conv layer (TF's defaults)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            # drawn into a contiguous tensor, then copied: uniform_ fills storage order, so this
            # keeps the draws independent of the parameter's memory layout (channels-last)
            weight = torch.empty_like(layer.weight, memory_format=torch.contiguous_format)
            nn.init.xavier_uniform_(weight, generator=generator)
            with torch.no_grad():
                layer.weight.copy_(weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


def is_image_shape(observation_shape: Sequence[int]) -> bool:
    """True for (C, 64, 64), False for (d,); raises for anything else."""
    shape = tuple(int(s) for s in observation_shape)
    if len(shape) == 1 and shape[0] >= 1:
        return False
    if len(shape) == 3 and shape[0] >= 1 and shape[1:] == (IMAGE_SIZE, IMAGE_SIZE):
        return True
    raise ValueError(
        f"observation_shape = {shape}: expected (channels, 64, 64) images or (features,) vectors"
    )


class ConvBody(nn.Module):
    """dlib's conv encoder up to the 256-unit dense layer: (n, C, 64, 64) → (n, 256)."""

    def __init__(self, n_channels: int = 1, activation: str = "relu"):
        super().__init__()
        self.convs = nn.ModuleList(
            [
                nn.Conv2d(n_channels, 32, kernel_size=4, stride=2, padding=1),  # 64 → 32
                nn.Conv2d(32, 32, kernel_size=4, stride=2, padding=1),  # 32 → 16
                nn.Conv2d(32, 64, kernel_size=2, stride=2, padding=0),  # 16 → 8
                nn.Conv2d(64, 64, kernel_size=2, stride=2, padding=0),  # 8 → 4
            ]
        )
        self.convs.to(memory_format=CONV_MEMORY_FORMAT)
        self.dense = nn.Linear(64 * 4 * 4, CONV_FEATURES)
        self.act = activation_module(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=CONV_MEMORY_FORMAT)
        for conv in self.convs:
            x = self.act(conv(x))
        return self.act(self.dense(x.flatten(1)))


class MLP(nn.Module):
    """Dense layers ``in → hidden… → out`` with an activation between them (none at the end)."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        hidden: Sequence[int] = DEFAULT_HIDDEN,
        activation: str = "leaky_relu",
        final_activation: bool = False,
    ):
        super().__init__()
        sizes = [int(n_in), *(int(h) for h in hidden), int(n_out)]
        if min(sizes) < 1:
            raise ValueError(f"MLP sizes {sizes}: expected positive layer widths")
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2 or final_activation:
                layers.append(activation_module(activation))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class GaussianEncoder(nn.Module):
    """A body (conv or MLP) and two linear heads: the posterior's mean and log-variance.

    ``n_aux`` > 0 (vector data only) concatenates an auxiliary input u to x: q(z | x, u).
    """

    def __init__(
        self,
        observation_shape: Sequence[int],
        n_latent: int = 10,
        n_aux: int = 0,
        hidden: Sequence[int] = DEFAULT_HIDDEN,
        activation: str | None = None,
    ):
        super().__init__()
        if int(n_latent) < 1:
            raise ValueError(f"n_latent = {n_latent}: expected a positive integer")
        self.image = is_image_shape(observation_shape)
        if self.image:
            if n_aux:
                raise ValueError(f"n_aux = {n_aux}: an auxiliary input needs vector observations")
            self.body: nn.Module = ConvBody(observation_shape[0], activation or "relu")
            width = CONV_FEATURES
        else:
            n_in = int(observation_shape[0]) + int(n_aux)
            self.body = MLP(n_in, hidden[-1], hidden[:-1], activation or "leaky_relu", True)
            width = int(hidden[-1])
        self.mean = nn.Linear(width, n_latent)
        self.logvar = nn.Linear(width, n_latent)

    def forward(
        self, x: torch.Tensor, u: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if u is not None:
            x = torch.cat([x, u], dim=1)
        h = self.body(x)
        return self.mean(h), self.logvar(h)


class DeconvDecoder(nn.Module):
    """dlib's deconv decoder: (n, n_latent) → logits (n, C, 64, 64)."""

    def __init__(self, n_latent: int = 10, n_channels: int = 1, activation: str = "relu"):
        super().__init__()
        self.dense = nn.ModuleList([nn.Linear(n_latent, 256), nn.Linear(256, 1024)])
        self.deconvs = nn.ModuleList(
            [
                nn.ConvTranspose2d(64, 64, kernel_size=4, stride=2, padding=1),  # 4 → 8
                nn.ConvTranspose2d(64, 32, kernel_size=4, stride=2, padding=1),  # 8 → 16
                nn.ConvTranspose2d(32, 32, kernel_size=4, stride=2, padding=1),  # 16 → 32
                nn.ConvTranspose2d(32, n_channels, kernel_size=4, stride=2, padding=1),  # → 64
            ]
        )
        self.deconvs.to(memory_format=CONV_MEMORY_FORMAT)
        self.act = activation_module(activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for layer in self.dense:
            h = self.act(layer(h))
        h = h.view(-1, 64, 4, 4).contiguous(memory_format=CONV_MEMORY_FORMAT)
        for i, deconv in enumerate(self.deconvs):
            h = deconv(h)
            if i < len(self.deconvs) - 1:
                h = self.act(h)
        return h


def make_decoder(
    n_latent: int,
    observation_shape: Sequence[int],
    hidden: Sequence[int] = DEFAULT_HIDDEN,
    activation: str | None = None,
) -> nn.Module:
    """The deconv decoder for images, an MLP (reversed hidden sizes) for vectors; outputs the
    likelihood's parameters (logits or means) with the observations' shape."""
    if is_image_shape(observation_shape):
        return DeconvDecoder(n_latent, int(observation_shape[0]), activation or "relu")
    return MLP(n_latent, int(observation_shape[0]), tuple(hidden)[::-1], activation or "leaky_relu")
