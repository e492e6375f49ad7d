"""Trials of the multi-task evidence-accumulation classification task (docs/replication.md,
"Task").

A trial has a latent x* ~ U(-0.5, 0.5)^D, fixed within the trial. Time runs in steps of dt = 100 ms:
``fixation_steps`` (1) with the fixation cue on and no stimulus, ``stimulus_steps`` (20) with the
cue on and the noisy evidence x* + ε_t (ε_t ~ N(0, σ²I), σ = 0.2), and ``decision_steps`` (1) with
the cue off and no stimulus. The network sees [cue, f(stimulus channels)] (1 + 40 inputs), where f
is the network's frozen mixing encoder; f(0) is shown outside the stimulus period, as in the paper.

Task i asks on which side of the hyperplane c_iᵀx = 0 the latent lies (y_i = 1[c_iᵀx* > 0]).
For D = 2 the boundaries are evenly spaced orientations φ_i = (i + ½)π/N through the origin; for
D > 2 they are random unit normals. The targets are 0.5 at every step before the decision period
and y at the decision steps (sigmoid read-out + BCE on every step, the paper's main runs), or 0 and
±1 with the tanh/MSE loss of the older runs.

Everything here is vectorised over a leading ensemble axis K: member k has its own encoder,
boundaries and random stream.
"""

from __future__ import annotations

import math

import torch

from disentangle.seeding import generator, hash_rows, hashed_normal
from disentangle.tasks.encoder import MixingEncoder

# the task settings live in the torch-free module spec (the config check reads them): re-exported
from disentangle.tasks.spec import BOUNDARIES as BOUNDARIES
from disentangle.tasks.spec import LATENT_NOISE_KINDS
from disentangle.tasks.spec import LOSSES as LOSSES
from disentangle.tasks.spec import TaskSpec as TaskSpec


def boundary_normals(n_tasks: int, dim: int, kind: str, seed: int) -> torch.Tensor:
    """The (n_tasks, dim) matrix C of unit boundary normals; label i is 1[c_iᵀx > 0].

    ``even`` (D = 2): φ_i = (i + ½)π/N and c_i ∝ (−tan φ_i, 1), so y_i = 1[x2 > tan(φ_i)·x1] as in
    the authors' code, written with unit normals so that φ = 90° (odd N) needs no tan(90°).
    ``random``: rows ~ N(0, I_D), normalised, drawn from the stream ``("boundaries", seed, N)``.
    """
    if n_tasks < 1:
        raise ValueError(f"n_tasks = {n_tasks}: expected >= 1")
    if kind == "even":
        if dim != 2:
            raise ValueError("evenly spaced boundaries are defined for D = 2 only")
        phi = (torch.arange(n_tasks, dtype=torch.float64) + 0.5) * math.pi / n_tasks
        cos, sin = torch.cos(phi), torch.sin(phi)
        # (−tan φ, 1)/‖·‖ = sign(cos φ)·(−sin φ, cos φ); at φ = 90° the label is 1[x1 < 0].
        sign = torch.where(cos.abs() < 1e-12, torch.ones_like(cos), torch.sign(cos))
        c = torch.stack([-sin, cos], dim=1) * sign[:, None]
        c[cos.abs() < 1e-12] = torch.tensor([-1.0, 0.0], dtype=torch.float64)
        return c.float()
    if kind == "random":
        g = generator("boundaries", seed, n_tasks, dim)
        c = torch.randn((n_tasks, dim), generator=g, dtype=torch.float64)
        return (c / c.norm(dim=1, keepdim=True)).float()
    if kind in ("curved", "concentric"):
        if dim != 2:
            raise ValueError(f"{kind} boundaries are defined for D = 2 only")
        return nonlinear_boundaries(n_tasks, kind)
    raise ValueError(f"boundary kind {kind!r}: expected one of {BOUNDARIES}")


def nonlinear_boundaries(n_tasks: int, kind: str) -> torch.Tensor:
    """The authors' nonlinear boundaries (their ``CircularClassification`` and
    ``MultiplyClassificationFull``, beyond the paper's figures), as (N, 2) parameter rows in the
    place of C (no random draw: the same for every seed):

    - ``concentric``: circles about the origin, y_i = 1[‖x‖ > r_i] with r_i = √2·(½ − 1/(4N))·i/N,
      i = 1 … N (row (r_i, 0)); the outer circles only cut the square's corners, as theirs do.
    - ``curved``: hyperbolas, N/4 tasks per quadrant q (Q1 = (+,+), Q2 = (−,+), Q3 = (−,−),
      Q4 = (+,−), in that order): y = 1[x lies in q and |x1·x2| > c_k], c_k = 0.2·k-th of
      linspace(1/(2N), 1, N/4) (row (c_k, q)); N must be a multiple of 4. The authors' targets
      were ±1 (MSE era); here they are the task's own (BCE: 0/1), as for every other variant.
    """
    if kind == "concentric":
        i = torch.arange(1, n_tasks + 1, dtype=torch.float64)
        r = math.sqrt(2) * (0.5 - 1 / (4 * n_tasks)) * i / n_tasks
        return torch.stack([r, torch.zeros_like(r)], dim=1).float()
    if n_tasks % 4:
        raise ValueError(f"curved boundaries: n_tasks = {n_tasks}, expected a multiple of 4")
    per = n_tasks // 4
    c = 0.2 * torch.linspace(1 / (2 * n_tasks), 1.0, per, dtype=torch.float64)
    q = torch.arange(1, 5, dtype=torch.float64).repeat_interleave(per)
    return torch.stack([c.repeat(4), q], dim=1).float()


def labels(x: torch.Tensor, c: torch.Tensor, kind: str = "even") -> torch.Tensor:
    """Binary labels: x (K, ..., D), C (K, N, D) → (K, ..., N) float. Lines (``even``,
    ``random``): 1[Cx > 0]; ``concentric`` and ``curved``: ``nonlinear_boundaries``' rules
    (a padding row of zeros labels nothing)."""
    k, *middle, d = x.shape
    rows = x.reshape(k, -1, d)
    if kind in ("even", "random"):
        proj = torch.bmm(rows, c.transpose(1, 2))
        return (proj > 0).to(x.dtype).reshape(k, *middle, c.shape[1])
    if kind == "concentric":
        radius = rows.norm(dim=2, keepdim=True)  # (K, M, 1)
        y = (radius > c[:, None, :, 0]) & (c[:, None, :, 0] > 0)
        return y.to(x.dtype).reshape(k, *middle, c.shape[1])
    if kind == "curved":
        x1, x2 = rows[..., 0], rows[..., 1]
        quadrant = torch.where(x1 > 0, torch.where(x2 > 0, 1.0, 4.0), torch.where(x2 > 0, 2.0, 3.0))
        quadrant = torch.where((x1 == 0) | (x2 == 0), 0.0, quadrant)  # on an axis: no quadrant
        product = (x1 * x2).abs().unsqueeze(2)  # (K, M, 1)
        y = (quadrant.unsqueeze(2) == c[:, None, :, 1]) & (product > c[:, None, :, 0])
        return y.to(x.dtype).reshape(k, *middle, c.shape[1])
    raise ValueError(f"boundary kind {kind!r}: expected one of {BOUNDARIES}")


def sample_trials(spec: TaskSpec, g: torch.Generator, shape: tuple[int, ...]):
    """Latents x* (``shape`` + (D,)) and stimulus noise (``shape`` + (T_stim, D)) from ``g``.

    x* is uniform on [−½, ½]^D; with ``correlation`` ρ ≠ 0 its coordinates are joined by a
    Gaussian copula, x* = Φ(z) − ½ with z ~ N(0, (1 − ρ)I + ρ11ᵀ) (the authors'
    ``LinearClassificationCorr``): uniform marginals whose correlation is (6/π)·asin(ρ/2).
    """
    if spec.correlation == 0.0:
        x = torch.rand((*shape, spec.dim), generator=g) - 0.5
    else:
        cov = torch.full((spec.dim, spec.dim), spec.correlation, dtype=torch.float64)
        cov.fill_diagonal_(1.0)
        z = torch.randn((*shape, spec.dim), generator=g, dtype=torch.float64)
        z = z @ torch.linalg.cholesky(cov).T
        x = (torch.special.ndtr(z) - 0.5).float()
    return x, sample_noise(spec, g, shape)


#: the authors' AR(1) coefficient of autocorrelated noise (``LinearClassificationAutocorr``)
AR_COEFFICIENT = 0.7


def sample_noise(spec: TaskSpec, g: torch.Generator, shape: tuple[int, ...]) -> torch.Tensor:
    """The evidence noise (``shape`` + (T_stim, D)) of ``spec.noise``, scale σ = ``noise_sd``:

    - ``gaussian`` (the paper): i.i.d. N(0, σ²) per step and latent;
    - ``anisotropic`` (the authors' ``LinearClassificationAnisot``): the second latent's sd is 2σ;
    - ``autocorrelated`` (their ``LinearClassificationAutocorr``): per latent AR(1) in time,
      η_1 ~ N(0, σ²), η_t = ρ·η_{t−1} + σ√(1 − ρ²)·ε_t, ρ = ``AR_COEFFICIENT`` (stationary sd σ);
    - ``gumbel`` (their ``dist='gumbel'``): i.i.d. Gumbel(0, β = σ), heavy right tail, mean
      0.577·σ, not centred (as theirs);
    - ``input`` and ``units``: zeros, drawing nothing from ``g``. Their noise is not on x*: it is
      a pure function of the trial's x* (``trial_noise``), added by ``build_inputs`` (``input``)
      or by the network (``units``).
    """
    size = (*shape, spec.stimulus_steps, spec.dim)
    sd = spec.noise_sd
    if spec.noise not in LATENT_NOISE_KINDS:
        return torch.zeros(size)
    if spec.noise == "gumbel":
        u = torch.rand(size, generator=g, dtype=torch.float64).clamp(1e-300, 1 - 1e-16)
        return (-sd * torch.log(-torch.log(u))).float()
    noise = torch.randn(size, generator=g) * sd
    if spec.noise == "anisotropic" and spec.dim > 1:
        noise[..., 1] *= 2.0
    elif spec.noise == "autocorrelated":
        rho = AR_COEFFICIENT
        innovation = math.sqrt(1 - rho**2)
        for t in range(1, spec.stimulus_steps):
            noise[..., t, :] = rho * noise[..., t - 1, :] + innovation * noise[..., t, :]
    return noise


#: salts of the trial keys (``seeding.hash_rows``) of the two kinds whose noise is hashed
KEY_SALTS = {"input": 0x1A7E5, "units": 0x0217}


def trial_keys(spec: TaskSpec, x: torch.Tensor) -> torch.Tensor:
    """The 24-bit key of each trial of the ``input`` or ``units`` noise kind: x (..., D) → (...,)
    int64, a hash of the trial's latent x* (float32 bits) salted per kind.

    The noise of these kinds is a pure function of the key (``seeding.hashed_normal``): every job
    regenerates a trial's noise, in any chunking, from the x* it already has (the same hash bits
    on any device), and nothing is stored beside the evaluation trials. x* is drawn from the
    trial's random stream, so the keys (and the noise) are as random as the stream; two trials
    share a key with probability 2⁻²⁴ (about 12 pairs among the 20,384 evaluation trials)."""
    return hash_rows(x, KEY_SALTS[spec.noise])


def input_noise(spec: TaskSpec, x: torch.Tensor, n_channels: int) -> torch.Tensor:
    """The ``input`` kind's noise on the network inputs: x (K, M, D) → (K, M, T, n_channels),
    i.i.d. N(0, s²) per channel and step with s = ``spec.other_noise_sd`` (the authors' noise
    after ``util.encode``: every channel, the cue included, at every step)."""
    k, m, _ = x.shape
    xi = hashed_normal(trial_keys(spec, x), spec.n_steps * n_channels)
    return spec.other_noise_sd * xi.view(k, m, spec.n_steps, n_channels)


def build_inputs(
    spec: TaskSpec, encoder: MixingEncoder, x: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    """Network inputs: x (K, M, D), noise (K, M, T_stim, D) → u (K, M, T, 1 + F + extra).

    Channel 0 is the fixation cue; channels 1.. are f applied to the stimulus channels, with f(0)
    outside the stimulus period. f runs without autograd (it is frozen). With ``input`` noise the
    channels then get ``input_noise``; with ``units`` noise two channels follow the 1 + F
    (``spec.noise_channels``): the noise's sd and the trial's key (``trial_keys``, exact in
    float32), which the network turns into its units' noise (``models.recurrent``).
    """
    u = clean_inputs(spec, encoder, x, noise)
    if spec.noise == "input":
        return u + input_noise(spec, x, u.shape[-1])
    if spec.noise == "units":
        k, m, t, _ = u.shape
        extra = torch.empty((k, m, t, 2), dtype=u.dtype, device=u.device)
        extra[..., 0] = spec.other_noise_sd
        extra[..., 1] = trial_keys(spec, x).to(u.dtype).unsqueeze(-1)
        return torch.cat([u, extra], dim=-1)
    return u


def clean_inputs(
    spec: TaskSpec, encoder: MixingEncoder, x: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    """``build_inputs`` without the ``input`` and ``units`` kinds' noise (u (K, M, T, 1 + F)):
    with zero ``noise``, the noise-free inputs of any kind."""
    k, m, _ = x.shape
    stim = encoder(x.unsqueeze(2) + noise)  # (K, M, T_stim, F)
    if not spec.has_cue:  # free RT: evidence on every step, no cue channel
        return stim
    f0 = encoder(torch.zeros((k, 1, spec.dim), dtype=x.dtype, device=x.device))  # (K, 1, F)
    n_feat = stim.shape[-1]
    u = torch.empty((k, m, spec.n_steps, 1 + n_feat), dtype=x.dtype, device=x.device)
    u[..., 0] = 1.0
    u[:, :, spec.decision_slice, 0] = 0.0
    stim_steps = spec.stimulus_slice
    u[:, :, : stim_steps.start, 1:] = f0.unsqueeze(2)  # f(0) outside the stimulus period only
    u[:, :, stim_steps, 1:] = stim
    u[:, :, stim_steps.stop :, 1:] = f0.unsqueeze(2)
    return u


def targets(spec: TaskSpec, y: torch.Tensor) -> torch.Tensor:
    """Per-step targets of the fixed-RT task: y (K, M, N) in {0, 1} → (K, M, T, N).

    BCE: 0.5 before the decision period, y during it. MSE (tanh read-out): 0 before, 2y − 1 during.
    """
    before = 0.5 if spec.loss == "bce" else 0.0
    decision = y if spec.loss == "bce" else 2.0 * y - 1.0
    k, m, n = y.shape
    t = torch.full((k, m, spec.n_steps, n), before, dtype=y.dtype, device=y.device)
    t[:, :, spec.decision_slice] = decision.unsqueeze(2)
    return t


def running_sum(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``torch.cumsum(x, dim)`` of a float32 tensor, bit for bit as the CPU computes it (a float64
    accumulator, each partial sum rounded to float32), with one elementwise add per step on any
    device. ``torch.cumsum`` of a floating tensor on CUDA has no deterministic implementation (it
    raises under ``torch.use_deterministic_algorithms(True)``, which CUDA runs set:
    ``provenance.configure_determinism``); the free-RT targets sum only a trial's 20-odd steps."""
    dim = dim % x.ndim
    steps = x.unbind(dim)
    if not steps:
        return x.clone()
    acc = torch.zeros_like(steps[0], dtype=torch.float64)
    out = []
    for step in steps:
        acc = acc + step.to(torch.float64)
        out.append(acc.to(x.dtype))
    return torch.stack(out, dim=dim)


def ddm_targets(spec: TaskSpec, x: torch.Tensor, noise: torch.Tensor, c: torch.Tensor):
    """Free-RT targets (the authors' ``LinearClassificationBound``): per step, the running sum of
    the noisy evidence projected on each boundary normal, absorbed at ±``ddm_bound`` once crossed.

    x (K, M, D), noise (K, M, T, D), C (K, N, D) → (K, M, T, N). The authors projected on
    (−tan φ, 1), whose length grows with φ; unit normals give every task the same evidence scale.
    """
    k, m, t, d = noise.shape
    evidence = (x.unsqueeze(2) + noise).reshape(k, m * t, d)
    drift = torch.bmm(evidence, c.transpose(1, 2)).reshape(k, m, t, -1)
    total = running_sum(drift, dim=2)  # drift.cumsum(dim=2), deterministic on CUDA too
    crossed = (total.abs() >= spec.ddm_bound).to(torch.int8).cummax(dim=2).values.bool()
    first = crossed.to(torch.int8).argmax(dim=2, keepdim=True)  # first crossing (0 if none)
    sign_at_cross = torch.sign(torch.gather(total, 2, first))
    return torch.where(crossed, spec.ddm_bound * sign_at_cross, total)


def trial_targets(spec: TaskSpec, x: torch.Tensor, noise: torch.Tensor, c: torch.Tensor):
    """Targets (K, M, T, N) and binary labels y = 1[Cx* > 0] (K, M, N) for any task variant."""
    y = labels(x, c, spec.boundaries)
    if spec.loss == "ddm":
        return ddm_targets(spec, x, noise, c), y
    return targets(spec, y), y


ORTHANT_ORDER_2D = ((1, 1), (-1, 1), (-1, -1), (1, -1))  # the paper's quadrants 1..4


def fold_masks(x: torch.Tensor) -> tuple[list[str], torch.Tensor]:
    """Held-out regions for the OOD decoder: names and boolean masks (n_folds, n) over ``x`` (n, D).

    D = 2: the four quadrants in the paper's order (Q1 = (+,+), Q2 = (−,+), Q3 = (−,−), Q4 = (+,−)).
    D > 2: one half-space per coordinate, x_j < 0 (the authors' high-D rule is not recorded;
    docs/replication.md, "Deviations from the authors' code").
    """
    d = x.shape[1]
    if d == 2:
        signs = torch.tensor(ORTHANT_ORDER_2D, dtype=x.dtype)
        masks = (torch.sign(x)[None, :, :] == signs[:, None, :]).all(dim=2)
        return [f"Q{i + 1}" for i in range(4)], masks
    masks = (x < 0).T.contiguous()
    return [f"x{j + 1}<0" for j in range(d)], masks


def evaluation_set(spec: TaskSpec, n_train: int, n_test: int, seed: int) -> dict[str, torch.Tensor]:
    """Fixed trials for decoder fitting (``train``) and testing (``test``), shared by all networks
    of an experiment: latents uniform on the cube, noise as in training (docs/replication.md,
    "OOD regression metric")."""
    g = generator("evaluation", seed, spec.dim)
    x_train, noise_train = sample_trials(spec, g, (n_train,))
    x_test, noise_test = sample_trials(spec, g, (n_test,))
    return {
        "x_train": x_train,
        "noise_train": noise_train,
        "x_test": x_test,
        "noise_test": noise_test,
    }
