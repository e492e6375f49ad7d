"""The OOD metric's linear decoders: the network states they read, their fits and settings.

A decoder maps a representation (a network's hidden state at the trial's last step,
``final_states``; or any code) linearly to the latent x*: Linear(H→D) with bias. Two are
implemented (docs/replication.md, "Decisions"; every result records which one made it):

- ``adam`` (the paper's protocol, docs/replication.md, "OOD regression metric"; ``fit_adam``): a
  fresh Linear(H→D) per fit with PyTorch's default init, Adam lr 3e-3 on the MSE, minibatches of
  16 trials, the paper's batch budget per task count (3000, 3000, 2000, 1000, 1000 batches for
  N = 2, 3, 6, 12, 24; ``decoder_budget``). One difference: minibatches are drawn from a large
  cached pool of trials instead of fresh trials (the pool is fixed per experiment; it changes
  nothing but the cost).
- ``ridge`` (``fit_ridge``): the closed-form least-squares decoder with intercept and a small
  ridge penalty, solved in float64. The penalty is relative: λ = penalty × the mean over units of
  the centred states' sum of squares (trace(FᵀF)/H), so one value suits states of any scale. A
  penalty of 0 uses the minimum-norm solution from ``lstsq(driver="gelsd")``: ReLU states are
  rank deficient and the default ``gelsy`` driver returns garbage there (docs/replication.md,
  "Numerical pitfalls").

The settings are parsed once, where they enter (``OODSettings.from_config`` on
``config['metrics']['ood']``), into frozen dataclasses: ``OODSettings`` (which decoder, fits per
region) holding ``AdamSettings`` and ``RidgeSettings``. ``fit_decoders`` fits the one an
``OODSettings`` names, with the decoder streams ("decoder", seed, n_tasks) of the networks.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch

from disentangle.progress import Progress
from disentangle.seeding import generator, uniform
from disentangle.tasks.evidence import TaskSpec, build_inputs

DECODERS = ("adam", "ridge")
Decoder = Literal["adam", "ridge"]


PAPER_BUDGET = {2: 3000, 3: 3000, 6: 2000, 12: 1000, 24: 1000}  # generalize.py, N -> batches


def decoder_budget(n_tasks: int, n_batches: int | str) -> int:
    """Adam batches for one fit: ``n_batches`` itself, or with ``'paper'`` the authors' budget for
    ``n_tasks`` (unlisted N take the entry of the nearest smaller listed N; N < 2 takes N = 2's)."""
    if n_batches != "paper":
        return int(n_batches)
    listed = [n for n in sorted(PAPER_BUDGET) if n <= n_tasks] or [min(PAPER_BUDGET)]
    return PAPER_BUDGET[listed[-1]]


def _fail(where: str, value: Any, expected: str) -> ValueError:
    return ValueError(f"{where} = {value!r}: expected {expected}")


def _block(cfg: Any, where: str, keys: tuple[str, ...], optional: tuple[str, ...] = ()) -> Mapping:
    """``cfg`` as a mapping with exactly ``keys`` (plus any of ``optional``): else a clear error."""
    if not isinstance(cfg, Mapping):
        raise _fail(where, cfg, f"a mapping with keys {', '.join(keys + optional)}")
    missing = [k for k in keys if k not in cfg]
    if missing:
        raise ValueError(f"{where}.{missing[0]} is missing (expected keys {', '.join(keys)})")
    unknown = [k for k in cfg if k not in keys + optional]
    if unknown:
        allowed = ", ".join(keys + optional)
        raise ValueError(f"{where}.{unknown[0]}: unknown setting (expected {allowed})")
    return cfg


def _positive_int(value: Any, where: str) -> int:
    """An integer >= 1 (not a float, as the config's own check); else a ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise _fail(where, value, "a positive integer")
    return int(value)


def _number(value: Any, where: str, low: float, strict: bool) -> float:
    """A finite number above ``low`` (``strict``) or at least ``low``, as a float."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or (strict and value == low):
        raise _fail(where, value, f"a finite number {'>' if strict else '>='} {low:g}")
    return float(value)


@dataclass(frozen=True)
class AdamSettings:
    """The Adam decoder (``config['metrics']['ood']['adam']``): learning rate, minibatch size and
    batches per fit, an integer for every network or ``'paper'`` (``decoder_budget``)."""

    lr: float
    batch_size: int
    n_batches: int | Literal["paper"]

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _number(self.lr, "adam.lr", 0.0, strict=True))
        object.__setattr__(self, "batch_size", _positive_int(self.batch_size, "adam.batch_size"))
        if self.n_batches != "paper":
            object.__setattr__(self, "n_batches", _positive_int(self.n_batches, "adam.n_batches"))

    @classmethod
    def from_config(cls, cfg: Mapping, where: str = "metrics.ood.adam") -> AdamSettings:
        cfg = _block(cfg, where, ("lr", "batch_size", "n_batches"))
        n_batches = cfg["n_batches"]
        if n_batches != "paper":
            n_batches = _positive_int(n_batches, f"{where}.n_batches")  # or 'paper'
        return cls(
            lr=_number(cfg["lr"], f"{where}.lr", 0.0, strict=True),
            batch_size=_positive_int(cfg["batch_size"], f"{where}.batch_size"),
            n_batches=n_batches,
        )

    def budget(self, n_tasks: int) -> int:
        """Adam batches for one fit of a network with ``n_tasks`` tasks."""
        return decoder_budget(n_tasks, self.n_batches)


@dataclass(frozen=True)
class RidgeSettings:
    """The closed-form ridge decoder: its relative ``penalty`` (≥ 0; 0 = minimum-norm lstsq)."""

    penalty: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "penalty", _number(self.penalty, "ridge.penalty", 0.0, False))

    @classmethod
    def from_config(cls, cfg: Mapping, where: str = "metrics.ood.ridge") -> RidgeSettings:
        cfg = _block(cfg, where, ("penalty",))
        return cls(penalty=_number(cfg["penalty"], f"{where}.penalty", 0.0, strict=False))


@dataclass(frozen=True)
class OODSettings:
    """The OOD metric's decoder settings (``config['metrics']['ood']``): which decoder, how many
    fits per held-out region, and each decoder's own block (a block may be absent, None, when its
    decoder is never fitted: the comparison's ridge-only settings)."""

    decoder: Decoder
    n_fits: int
    adam: AdamSettings | None = None
    ridge: RidgeSettings | None = None

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise _fail("metrics.ood.decoder", self.decoder, f"one of {DECODERS}")
        object.__setattr__(self, "n_fits", _positive_int(self.n_fits, "metrics.ood.n_fits"))
        if getattr(self, self.decoder) is None:
            raise ValueError(
                f"metrics.ood.{self.decoder} is missing: the {self.decoder} decoder needs its "
                "settings block"
            )

    @classmethod
    def from_config(cls, cfg: Mapping, where: str = "metrics.ood") -> OODSettings:
        """Parse ``config['metrics']['ood']`` (or the JSON of it a job receives); a wrong, missing
        or unknown setting raises ``ValueError`` naming its key."""
        cfg = _block(cfg, where, ("decoder", "n_fits"), optional=DECODERS)
        decoder = cfg["decoder"]
        if decoder not in DECODERS:
            raise _fail(f"{where}.decoder", decoder, f"one of {DECODERS}")
        if decoder not in cfg:
            raise ValueError(f"{where}.{decoder} is missing: the {decoder} decoder needs it")
        adam, ridge = cfg.get("adam"), cfg.get("ridge")
        return cls(
            decoder=decoder,
            n_fits=_positive_int(cfg["n_fits"], f"{where}.n_fits"),
            adam=None if adam is None else AdamSettings.from_config(adam, f"{where}.adam"),
            ridge=None if ridge is None else RidgeSettings.from_config(ridge, f"{where}.ridge"),
        )

    @classmethod
    def of(cls, settings: OODSettings | Mapping) -> OODSettings:
        """``settings`` itself, or parsed from a plain mapping (``from_config``)."""
        return settings if isinstance(settings, cls) else cls.from_config(settings)

    def with_decoder(self, decoder: str) -> OODSettings:
        """The same settings with ``decoder`` fitted instead (its block must be there)."""
        return dataclasses.replace(self, decoder=decoder)


@torch.no_grad()
def member_inputs(
    encoder, task: TaskSpec, x: torch.Tensor, noise: torch.Tensor, device, chunk: int
):
    """The network inputs (K, m, T, C) of shared trials x (n, D), noise (n, T_stim, D), in chunks
    of ``chunk`` trials on ``device``. The evidence is encoded once per distinct encoder
    (``MixingEncoder.distinct``: members of one seed share theirs) and gathered to the members:
    the same inputs, bit for bit."""
    unique, index = encoder.distinct()
    k = unique.n_members
    for start in range(0, x.shape[0], chunk):
        xs = x[start : start + chunk].to(device).expand(k, -1, -1)
        ns = noise[start : start + chunk].to(device).expand(k, -1, -1, -1)
        u = build_inputs(task, unique, xs, ns)
        yield u if index is None else u[index.to(device)]


@torch.no_grad()
def final_states(
    model, encoder, task: TaskSpec, x: torch.Tensor, noise: torch.Tensor, chunk: int = 2048
) -> torch.Tensor:
    """Hidden state of every network at the trial's last step: (K, n, H) for shared trials x (n, D).

    The model is run noise-for-noise on the same trials for every member, in chunks of trials
    (``member_inputs``).
    """
    device = next(model.parameters()).device
    # an architecture may compute the last step alone more cheaply (GPT-2: the MLP at one position)
    last = getattr(model, "last_state", None) or (lambda u: model(u)[:, :, -1])
    out = [last(u) for u in member_inputs(encoder, task, x, noise, device, chunk)]
    return torch.cat(out, dim=1)


def fit_decoders(
    settings: OODSettings,
    states: torch.Tensor,
    x: torch.Tensor,
    train_masks: torch.Tensor,
    members: list[tuple[int, int]],
) -> tuple[torch.Tensor, torch.Tensor]:
    """The decoders ``settings`` names, ``settings.n_fits`` per train mask, for each of the K
    representations ``states`` (K, n, H) of the networks ``members`` ((n_tasks, seed) each):
    weights (K, M, n_fits, H, D) and biases (K, M, n_fits, D) on the CPU. The Adam decoders of
    network (n_tasks, seed) draw from the stream ("decoder", seed, n_tasks) and take its budget."""
    if settings.decoder == "adam":
        adam = settings.adam
        streams = [generator("decoder", seed, n_tasks) for n_tasks, seed in members]
        w, b = fit_adam(
            states,
            x.to(states.device),
            train_masks,
            settings.n_fits,
            [adam.budget(n_tasks) for n_tasks, _ in members],
            adam.lr,
            adam.batch_size,
            streams,
        )
        return w.cpu(), b.cpu()
    return fit_ridge(states, x, train_masks, settings.n_fits, settings.ridge.penalty)


def fit_adam(
    states: torch.Tensor,
    x: torch.Tensor,
    train_masks: torch.Tensor,
    n_fits: int,
    n_batches: int | list[int],
    lr: float,
    batch_size: int,
    streams: list[torch.Generator],
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
):
    """Fit n_fits × len(train_masks) Adam decoders for each network, all at once.

    ``states`` (K, n, H) and latents ``x`` (n, D) form the training pool; fit (m, j) of network k
    draws its minibatches from the trials where ``train_masks[m]`` is true and takes
    ``n_batches`` Adam steps (one integer, or one budget per network). Network k's initial
    weights and minibatch indices come from ``streams[k]`` only. Returns W (K, M, n_fits, H, D) and
    b (K, M, n_fits, D).

    The decoder is Linear(H→D) with nn.Linear's init, trained on the minibatch MSE by Adam with
    torch's defaults. Its gradient is written out (for a linear map it is Fᵀ·2(FW + b − y)/(B·D))
    and Adam's update is torch's, so that the networks of every budget run in one loop: networks
    are ordered by budget and a network stops at its own (the active ones are a prefix). This
    replaces torch.optim.Adam on autograd (the same algorithm; float results differ in the last
    bits), at about a third of its time.
    """
    k, n, h = states.shape
    d = x.shape[1]
    m = train_masks.shape[0]
    f = m * n_fits
    device = states.device
    budgets = [int(n_batches)] * k if isinstance(n_batches, int) else [int(b) for b in n_batches]
    if len(budgets) != k:
        raise ValueError(f"{len(budgets)} budgets for {k} networks")
    # Per-mask index tables, padded; a fit draws u ~ U[0,1) and takes table[⌊u·size⌋].
    sizes = train_masks.sum(dim=1)
    table = torch.zeros((m, int(sizes.max())), dtype=torch.long)
    for i in range(m):
        idx = torch.nonzero(train_masks[i]).squeeze(1)
        table[i, : idx.numel()] = idx
    bound = h**-0.5
    order = sorted(range(k), key=lambda i: -budgets[i])  # longest budget first
    total = budgets[order[0]] if k else 0
    params, draws = [], torch.zeros((total, k, f, batch_size))
    for pos, i in enumerate(order):
        g = streams[i]
        w0 = torch.stack([uniform((d, h), bound, g).T for _ in range(f)])  # (F, H, D)
        b0 = torch.stack([uniform((d,), bound, g) for _ in range(f)])  # (F, D)
        params.append(torch.cat([w0, b0[:, None]], dim=1))  # (F, H + 1, D): bias as last row
        draws[: budgets[i], pos] = torch.rand((budgets[i], f, batch_size), generator=g)
    # the ones column of the states carries the bias
    feats_all = torch.cat([states[order], torch.ones((k, n, 1), device=device)], dim=2)
    param = torch.cat(params).to(device)  # (K·F, H + 1, D)
    avg, avg_sq = torch.zeros_like(param), torch.zeros_like(param)
    draws = draws.to(device)
    active = [sum(b > step for b in budgets) for step in range(total)]
    mask_of_fit = torch.arange(m).repeat_interleave(n_fits).to(device)  # (F,)
    size_of_fit = sizes.to(device)[mask_of_fit].float()
    table = table.to(device)[mask_of_fit]  # (F, max_size)
    net_of_row = torch.arange(k, device=device).repeat_interleave(f)  # (K·F,)
    row_offset = (net_of_row * n)[:, None]  # (K·F, 1)
    feats_flat = feats_all.reshape(k * n, h + 1)
    x = x.to(device)
    beta1, beta2 = betas
    scale = 2.0 / (batch_size * d)
    progress = Progress(f"Adam decoders ({k} representations x {f} fits)", total)
    for step in range(total):
        progress.update(step)
        ka = active[step]
        r = ka * f
        pos = (draws[step, :ka] * size_of_fit[None, :, None]).long()  # (ka, F, B)
        idx = torch.gather(table.expand(ka, -1, -1), 2, pos).reshape(r, batch_size)
        # rows of the flat (K·n, H + 1) view: network k's trial i is row k·n + i
        feats = feats_flat.index_select(0, (idx + row_offset[:r]).view(-1)).view(r, batch_size, -1)
        p, mu, nu = param[:r], avg[:r], avg_sq[:r]
        err = torch.bmm(feats, p).sub_(x[idx]).mul_(scale)  # ∂loss/∂pred
        grad = torch.bmm(feats.transpose(1, 2), err)  # (r, H + 1, D)
        mu.lerp_(grad, 1 - beta1)
        nu.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        t = step + 1
        denom = (nu.sqrt() / math.sqrt(1 - beta2**t)).add_(eps)
        p.addcdiv_(mu, denom, value=-lr / (1 - beta1**t))
    progress.update(total)
    param = param.reshape(k, f, h + 1, d)[torch.argsort(torch.tensor(order, device=device))]
    weight = param[:, :, :h].reshape(k, m, n_fits, h, d)
    bias = param[:, :, h].reshape(k, m, n_fits, d)
    return weight.contiguous(), bias.contiguous()


def fit_ridge(
    states: torch.Tensor, x: torch.Tensor, train_masks: torch.Tensor, n_fits: int, penalty: float
):
    """Closed-form decoders with intercept, in float64. Fit j of a mask leaves out every n_fits-th
    trial starting at j (all trials when n_fits = 1). Same output shapes as ``fit_adam``."""
    k, n, h = states.shape
    d = x.shape[1]
    m = train_masks.shape[0]
    weight = torch.zeros((k, m, n_fits, h, d), dtype=torch.float64)
    bias = torch.zeros((k, m, n_fits, d), dtype=torch.float64)
    s64, x64 = states.double().cpu(), x.double().cpu()
    position = torch.arange(n)
    if penalty > 0 and n_fits > 1:
        return _ridge_by_parts(s64, x64, train_masks.cpu(), position % n_fits, n_fits, penalty)
    for i in range(m):
        for j in range(n_fits):
            use = train_masks[i] & ((position % n_fits != j) if n_fits > 1 else True)
            feats, tgt = s64[:, use], x64[use]
            mean_f, mean_t = feats.mean(dim=1, keepdim=True), tgt.mean(dim=0)
            fc, tc = feats - mean_f, (tgt - mean_t).expand(k, -1, -1)
            if penalty > 0:
                gram = fc.transpose(1, 2) @ fc
                scale = gram.diagonal(dim1=1, dim2=2).mean(dim=1).clamp_min(1e-12)
                gram = gram + penalty * scale[:, None, None] * torch.eye(h, dtype=torch.float64)
                w = torch.linalg.solve(gram, fc.transpose(1, 2) @ tc)
            else:
                w = torch.linalg.lstsq(fc, tc, driver="gelsd").solution
            weight[:, i, j] = w
            bias[:, i, j] = mean_t - (mean_f @ w).squeeze(1)
    return weight.float(), bias.float()


def _ridge_by_parts(
    s64: torch.Tensor,
    x64: torch.Tensor,
    train_masks: torch.Tensor,
    part: torch.Tensor,
    n_fits: int,
    penalty: float,
):
    """``fit_ridge`` with a penalty and several fits, from sufficient statistics: fit j of a mask
    uses the mask's trials outside part j (``part`` = position mod n_fits), so each part's count,
    sums and cross-products are computed once and every fit's normal equations are the mask's
    totals less its own part's. Every trial enters one product per mask instead of n_fits − 1. The
    features and targets are first centred on their means over all trials (the centred
    cross-products do not depend on that shift; it keeps S − n·μμᵀ well conditioned), so the
    decoders equal the direct fit's to float64 rounding (``tests/test_decoders.py``)."""
    k, n, h = s64.shape
    d = x64.shape[1]
    m = train_masks.shape[0]
    shift_f, shift_t = s64.mean(dim=1, keepdim=True), x64.mean(dim=0)
    f, t = s64 - shift_f, x64 - shift_t
    weight = torch.zeros((k, m, n_fits, h, d), dtype=torch.float64)
    bias = torch.zeros((k, m, n_fits, d), dtype=torch.float64)
    eye = torch.eye(h, dtype=torch.float64)
    for i in range(m):
        stats = []  # per part: count, Σf (K, h), Σt (D), FᵀF (K, h, h), FᵀT (K, h, D)
        for j in range(n_fits):
            rows = train_masks[i] & (part == j)
            fj, tj = f[:, rows], t[rows]
            stats.append(
                (
                    int(rows.sum()),
                    fj.sum(dim=1),
                    tj.sum(dim=0),
                    fj.transpose(1, 2) @ fj,
                    fj.transpose(1, 2) @ tj,
                )
            )
        total = [sum(s[q] for s in stats) for q in range(5)]
        for j in range(n_fits):
            count, sf, st, sff, sft = (total[q] - stats[j][q] for q in range(5))
            mean_f, mean_t = sf / count, st / count  # (K, h), (D)
            gram = sff - count * mean_f.unsqueeze(2) * mean_f.unsqueeze(1)
            cross = sft - count * mean_f.unsqueeze(2) * mean_t
            scale = gram.diagonal(dim1=1, dim2=2).mean(dim=1).clamp_min(1e-12)
            w = torch.linalg.solve(gram + penalty * scale[:, None, None] * eye, cross)
            weight[:, i, j] = w
            bias[:, i, j] = (
                shift_t + mean_t - ((shift_f.squeeze(1) + mean_f).unsqueeze(1) @ w).squeeze(1)
            )
    return weight.float(), bias.float()
