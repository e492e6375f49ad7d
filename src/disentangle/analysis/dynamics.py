"""State-space dynamics of one trained network: PCA, fixed points, Jacobian spectra, time scales.

The paper's Fig. 2 ("RNNs learn continuous attractors"; docs/replication.md, "Sparsity,
dynamics and tuning"; the authors' analyze.py), for member k of an ensemble:
- PCA of noise-free trajectories (40 trials × 22 steps, 10 components);
- fixed points of the one-step map F(h) with the input held at u* = [fixation 1, f(0)]: 128
  starting states (a random visited state + U(0, 6) per unit), Adam lr 0.01 for 10,000 steps on
  the squared residual F(h) − h, merged by DBSCAN(eps 0.5, min_samples 1);
- eigenvalues λ of the Jacobian of F(h) − h at each fixed point (a 2-D continuous attractor has
  two λ ≈ 0 and the rest inside the unit circle centred at −1);
- time-scale amplification of the top-2 eigenvalues: μ = λ + 1, τ_net = dt/|ln|μ||, A = τ_net/τ
  (dt = τ = 0.1 s).

Functions take one network (``k`` selects the member) and are pure: tensors in, tensors out; every
random draw takes an explicit ``torch.Generator``.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from typing import NamedTuple

import torch

from disentangle.models.gpt2 import GPT2
from disentangle.models.recurrent import LSTM, RecurrentEnsemble
from disentangle.tasks.encoder import MixingEncoder
from disentangle.tasks.evidence import ORTHANT_ORDER_2D, TaskSpec, clean_inputs

StepMap = Callable[[torch.Tensor], torch.Tensor]

N_COMPONENTS = 10  # PCA components (analyze.py)
N_STARTS = 128  # fixed-point searches per network
START_NOISE = 6.0  # starting state = visited state + U(0, START_NOISE) per unit
FP_ITERS = 10_000
FP_LR = 0.01
DBSCAN_EPS = 0.5
DT = 0.1  # seconds per step
TAU = 0.1  # unit time constant (τ = dt in the paper's runs)


# --------------------------------------------------------------------------------------------
# One member of an ensemble
# --------------------------------------------------------------------------------------------


def _check_member(model, k: int) -> None:
    n = model.n_members
    if not 0 <= k < n:
        raise ValueError(f"member k = {k}: expected 0 <= k < {n} (the ensemble's n_members)")


def member_network(model, k: int):
    """A one-member ensemble of the same class holding member k's weights, frozen and in eval mode
    (so GPT-2 dropout is off), so that analyses run one network at its own cost."""
    _check_member(model, k)
    tensors = chain(model.named_parameters(), model.named_buffers())
    member = type(model).from_members([{name: t.detach()[k] for name, t in tensors}])
    if "alpha" in vars(model):  # an instance override of the leak α
        member.alpha = model.alpha
    member.requires_grad_(False)
    return member.eval()


def member_encoder(encoder: MixingEncoder, k: int) -> MixingEncoder:
    """Member k's frozen mixing encoder f as a one-member ``MixingEncoder``."""
    n = next(iter(encoder.params.values())).shape[0]
    if not 0 <= k < n:
        raise ValueError(f"member k = {k}: expected 0 <= k < {n} (the encoder's members)")
    return MixingEncoder(
        {name: v[k : k + 1] for name, v in encoder.params.items()}, encoder.activation
    )


def _device(model) -> torch.device:
    return next(model.parameters()).device


def held_input(task: TaskSpec, features: torch.Tensor, fixation: float = 1.0) -> torch.Tensor:
    """The network input for encoded stimuli ``features`` (..., F) with the fixation cue held at
    ``fixation``: [fixation, f] (..., 1 + F), or f alone for a task without a cue channel (the
    free-RT variant, ``task.has_cue`` False)."""
    if not getattr(task, "has_cue", True):
        return features
    cue = torch.full_like(features[..., :1], float(fixation))
    return torch.cat([cue, features], dim=-1)


def _check_latents(x: torch.Tensor, task: TaskSpec) -> None:
    if x.ndim != 2 or x.shape[1] != task.dim:
        raise ValueError(f"x of shape {tuple(x.shape)}: expected (n, D) with D = {task.dim}")


def orthant_labels(x: torch.Tensor) -> torch.Tensor:
    """Region label of each latent x (n, D), for colouring trajectories.

    D = 2: the paper's quadrant number 1..4 (Q1 = (+,+), Q2 = (−,+), Q3 = (−,−), Q4 = (+,−)), and 0
    for a point on an axis. D ≠ 2: the orthant index Σ_j 1[x_j > 0]·2^(D−1−j) in 0..2^D − 1 (the
    order of ``itertools.product([-.5, .5], repeat=D)``, last coordinate fastest).
    """
    if x.ndim != 2:
        raise ValueError(f"x of shape {tuple(x.shape)}: expected (n, D)")
    if x.shape[1] == 2:
        signs = torch.tensor(ORTHANT_ORDER_2D, dtype=x.dtype, device=x.device)
        match = (torch.sign(x)[:, None, :] == signs[None]).all(dim=2)  # (n, 4)
        quadrant = torch.argmax(match.to(torch.int64), dim=1) + 1
        return torch.where(match.any(dim=1), quadrant, torch.zeros_like(quadrant))
    weights = 2 ** torch.arange(x.shape[1] - 1, -1, -1, device=x.device)
    return ((x > 0).to(torch.int64) * weights).sum(dim=1)


@torch.no_grad()
def noise_free_trajectories(
    model, encoder: MixingEncoder, task: TaskSpec, k: int, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hidden states (n, T, H) of member k on noise-free trials with latents x (n, D), and their
    ``orthant_labels``; the trial has the task's full timing (fixation, stimulus, decision)."""
    _check_latents(x, task)
    net, enc = member_network(model, k), member_encoder(encoder, k)
    device = _device(net)
    xs = x.to(device=device, dtype=torch.float32)[None]
    noise = torch.zeros((1, x.shape[0], task.stimulus_steps, task.dim), device=device)
    states = net(clean_inputs(task, enc, xs, noise))[0]  # no input or units noise either
    return states, orthant_labels(x)


# --------------------------------------------------------------------------------------------
# PCA
# --------------------------------------------------------------------------------------------


class PCAResult(NamedTuple):
    components: torch.Tensor  # (C, H), orthonormal rows
    explained_variance_ratio: torch.Tensor  # (C,)
    projections: torch.Tensor  # (..., C): the centred states in component coordinates
    mean: torch.Tensor  # (H,)


def state_pca(states: torch.Tensor, n_components: int = N_COMPONENTS) -> PCAResult:
    """PCA of hidden states (..., H) pooled over all leading axes (trials × steps), by SVD of the
    centred matrix. Each component's sign makes its largest-magnitude loading positive."""
    if states.ndim < 2:
        raise ValueError(f"states of shape {tuple(states.shape)}: expected (..., H)")
    flat = states.reshape(-1, states.shape[-1]).to(torch.float64)
    n, h = flat.shape
    if not 1 <= n_components <= min(n, h):
        raise ValueError(f"n_components = {n_components}: expected 1..{min(n, h)} (min(n, H))")
    mean = flat.mean(dim=0)
    centred = flat - mean
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    comps = vh[:n_components]
    peak = comps.abs().argmax(dim=1)
    comps = comps * torch.sign(comps.gather(1, peak[:, None]))
    var = s**2
    total = var.sum()
    ratio = var[:n_components] / total if total > 0 else torch.zeros(n_components, device=s.device)
    proj = (centred @ comps.T).reshape(*states.shape[:-1], n_components)
    dtype = states.dtype if states.dtype.is_floating_point else torch.float32
    return PCAResult(comps.to(dtype), ratio.to(dtype), proj.to(dtype), mean.to(dtype))


# --------------------------------------------------------------------------------------------
# Fixed points
# --------------------------------------------------------------------------------------------


def constant_input_map(
    model, encoder: MixingEncoder, task: TaskSpec, k: int, fixation: float = 1.0
) -> StepMap:
    """F(h) of member k with the input held at u* = [fixation, f(0)] (f(0) alone for a task with
    no cue channel): h (P, H) → (P, H).

    For the leaky RNN (α = 1) this is F(r) = ReLU(W_in·u* + b + r·W_rec); any recurrent ensemble
    whose state is one tensor works (leaky, non-leaky, GRU). The LSTM (state (h, c)) and GPT-2 (no
    recurrent state) have no such map and raise a ValueError.
    """
    if isinstance(model, GPT2) or isinstance(model, LSTM):
        raise ValueError(
            f"constant_input_map: {type(model).__name__} has no single-tensor recurrent state; "
            "expected a LeakyRNN, NonLeakyRNN or GRU ensemble"
        )
    if not isinstance(model, RecurrentEnsemble):
        raise ValueError(f"constant_input_map: unsupported model {type(model).__name__}")
    net, enc = member_network(model, k), member_encoder(encoder, k)
    device = _device(net)
    f0 = enc(torch.zeros((1, 1, task.dim), device=device))[0, 0]  # (F,)
    u = held_input(task, f0, fixation)
    if u.shape[0] != net.w_in.shape[1]:
        raise ValueError(
            f"encoder gives {u.shape[0]} inputs, the network expects {net.w_in.shape[1]}"
        )
    drive = u @ net.w_in[0] + net.bias[0]  # (G,)

    def step_map(h: torch.Tensor) -> torch.Tensor:
        _, out = net.step(drive.expand(h.shape[0], -1)[None], h[None])
        return out[0]

    return step_map


def fixed_point_starts(
    trajectories: torch.Tensor,
    generator: torch.Generator,
    n_points: int = N_STARTS,
    noise_max: float = START_NOISE,
) -> torch.Tensor:
    """The authors' starting states: ``n_points`` visited states drawn with replacement from
    ``trajectories`` (..., H), each plus U(0, noise_max) per unit; (n_points, H)."""
    if n_points < 1:
        raise ValueError(f"n_points = {n_points}: expected >= 1")
    if noise_max < 0:
        raise ValueError(f"noise_max = {noise_max}: expected >= 0")
    visited = trajectories.reshape(-1, trajectories.shape[-1])
    idx = torch.randint(0, visited.shape[0], (n_points,), generator=generator)
    noise = torch.rand((n_points, visited.shape[1]), generator=generator) * noise_max
    return visited[idx.to(visited.device)] + noise.to(visited.device, visited.dtype)


class FixedPoints(NamedTuple):
    points: torch.Tensor  # (P, H)
    speeds: torch.Tensor  # (P,): ‖F(h) − h‖² at the final points


def find_fixed_points(
    step_map: StepMap, initial_states: torch.Tensor, n_iters: int = FP_ITERS, lr: float = FP_LR
) -> FixedPoints:
    """Minimise ‖F(h) − h‖² from every starting state (P, H) at once with Adam (the authors'
    protocol). The objective is a sum of per-point mean squares, so each point follows exactly the
    path it would follow alone (Adam is per coordinate). The loop is latency bound: on a busy CPU
    run it under ``torch.set_num_threads(1)`` (≈ 5 s for the paper's 128 × 64 × 10,000)."""
    if initial_states.ndim != 2:
        raise ValueError(f"initial_states of shape {tuple(initial_states.shape)}: expected (P, H)")
    if n_iters < 0 or lr <= 0:
        raise ValueError(f"n_iters = {n_iters}, lr = {lr}: expected n_iters >= 0 and lr > 0")
    h = torch.nn.Parameter(initial_states.detach().clone())
    opt = torch.optim.Adam([h], lr=lr)
    for _ in range(n_iters):
        opt.zero_grad(set_to_none=True)
        loss = ((step_map(h) - h) ** 2).mean(dim=1).sum()
        loss.backward()
        opt.step()
    points = h.detach()
    with torch.no_grad():
        speeds = ((step_map(points) - points) ** 2).sum(dim=1)
    return FixedPoints(points, speeds)


class UniquePoints(NamedTuple):
    points: torch.Tensor  # (C, H): one representative per cluster
    index: torch.Tensor  # (C,): the representatives' rows in the input
    labels: torch.Tensor  # (P,): cluster of every input point, 0..C−1


def unique_points(
    points: torch.Tensor, eps: float = DBSCAN_EPS, speeds: torch.Tensor | None = None
) -> UniquePoints:
    """Merge points (P, H) as DBSCAN(eps, min_samples=1) does: clusters are the connected
    components of the graph linking points within distance eps. Clusters are numbered by their
    first point; the representative is the member with the smallest speed (or the first)."""
    if points.ndim != 2 or points.shape[0] == 0:
        raise ValueError(f"points of shape {tuple(points.shape)}: expected (P, H) with P >= 1")
    if eps < 0:
        raise ValueError(f"eps = {eps}: expected >= 0")
    p = points.shape[0]
    if speeds is not None and speeds.shape != (p,):
        raise ValueError(f"speeds of shape {tuple(speeds.shape)}: expected ({p},)")
    p64 = points.detach().to(torch.float64)
    linked = torch.cdist(p64, p64) <= eps  # (P, P), reflexive
    label = torch.arange(p, device=points.device)
    big = torch.full((p, p), p, device=points.device)
    while True:  # min-label propagation: converges to the smallest index of each component
        new = torch.where(linked, label[None, :], big).min(dim=1).values
        if torch.equal(new, label):
            break
        label = new
    roots, labels = torch.unique(label, sorted=True, return_inverse=True)
    if speeds is None:
        score = torch.zeros(p, dtype=torch.float64, device=points.device)
    else:
        score = speeds.detach().to(device=points.device, dtype=torch.float64)
    index = torch.empty(len(roots), dtype=torch.int64, device=points.device)
    for c in range(len(roots)):
        members = torch.nonzero(labels == c).squeeze(1)
        index[c] = members[torch.argmin(score[members])]
    return UniquePoints(points[index], index, labels)


# --------------------------------------------------------------------------------------------
# Linearisation
# --------------------------------------------------------------------------------------------


def jacobian_spectrum(step_map: StepMap, h: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of the Jacobian of F(h) − h at each point h (P, H): (P, H) complex128 on the
    CPU, sorted by decreasing real part. ``step_map`` must act on each row independently (all maps
    here do). The Jacobian is computed where the network runs; the eigen-decomposition of these
    few small matrices on the CPU (LAPACK's geev), so that it does not depend on the GPU's solver
    (MAGMA) and every device gives the same spectrum for the same Jacobian."""
    if h.ndim != 2:
        raise ValueError(f"h of shape {tuple(h.shape)}: expected (P, H)")
    pts = h.detach()
    # Rows are independent, so d Σ_p F(h)_p / d h is the stack of per-point Jacobians.
    jac = torch.func.jacrev(lambda z: step_map(z).sum(dim=0))(pts)  # (H_out, P, H_in)
    jac = jac.permute(1, 0, 2).to(device="cpu", dtype=torch.float64)
    eye = torch.eye(pts.shape[1], dtype=torch.float64)
    eig = torch.linalg.eigvals(jac - eye)
    order = torch.argsort(eig.real, dim=1, descending=True, stable=True)
    return torch.gather(eig, 1, order)


def timescale_amplification(
    eigenvalues: torch.Tensor, dt: float = DT, tau: float = TAU, n_top: int = 2
) -> torch.Tensor:
    """A = τ_net/τ with τ_net = dt/|ln|μ||, μ = λ + 1, for the ``n_top`` eigenvalues λ of
    F(h) − h with the largest real part: (..., H) → (..., n_top). A marginal mode (|μ| = 1) is
    inf: how much longer than a unit's own time constant the network remembers."""
    if dt <= 0 or tau <= 0:
        raise ValueError(f"dt = {dt}, tau = {tau}: expected both > 0")
    if not 1 <= n_top <= eigenvalues.shape[-1]:
        raise ValueError(f"n_top = {n_top}: expected 1..{eigenvalues.shape[-1]}")
    lam = eigenvalues.to(torch.complex128)
    order = torch.argsort(lam.real, dim=-1, descending=True, stable=True)[..., :n_top]
    mu = torch.gather(lam, -1, order) + 1.0
    tau_net = dt / torch.log(mu.abs()).abs()
    return tau_net / tau
