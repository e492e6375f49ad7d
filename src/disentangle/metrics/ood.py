"""Out-of-distribution regression generalisation (paper Appendix A.2; Johnston & Fusi 2023).

Freeze a trained network, take its hidden state at the last step of the trial (the decision step,
after all the noisy evidence), and fit a linear decoder Linear(H→D) of the latent x* on trials from
every region but one; report r² on the held-out region. For D = 2 the regions are the quadrants
(4 folds). The in-distribution (ID) variant fits on all regions and tests on each in turn.

r² is the paper's, 1 − mse / Var_U with Var_U = 1/12 exactly (the variance of U(−½, ½), i.e. of the
*global* latent distribution; the authors estimated it from 1e5 draws). It is not sklearn's R².

Two decoders (REPLICATION.md "Decisions"; every result records which one made it):
- ``adam`` (default, the paper's protocol): a fresh Linear(H→D) per fit with PyTorch's default
  init, Adam lr 3e-3 on the MSE, minibatches of 16 trials, the paper's batch budget per task count
  (3000, 3000, 2000, 1000, 1000 batches for N = 2, 3, 6, 12, 24; ``decoder_budget``). One
  difference: minibatches are
  drawn from a large cached pool of trials instead of fresh trials (the pool is fixed per
  experiment; it changes nothing but the cost).
- ``ridge``: the closed-form least-squares decoder with intercept and a small ridge penalty
  (relative to the mean squared activity), solved in float64. A penalty of 0 uses the
  minimum-norm solution from ``lstsq(driver="gelsd")``: ReLU states are rank deficient and the
  default ``gelsy`` driver returns garbage there (REPLICATION.md, numerical pitfall).
The decoders differ by a few hundredths of r² (the Adam decoder is implicitly regularised) on
most networks, but not where the states are large: on the non-leaky RNN's integrated rates the
Adam decoder does not settle within the paper's budget. So the workflow's OOD job fits the
configured decoder and, on the same final states, the ridge decoder too (``ood_by_decoder``;
tables ``ood_r2`` and ``ood_r2_ridge``); Fig. 3b draws the second beside the first.
"""

from __future__ import annotations

import math

import torch

from disentangle.prior import VAR_U
from disentangle.prior import information_ceiling as information_ceiling  # re-exported
from disentangle.progress import Progress
from disentangle.seeding import generator, uniform
from disentangle.tasks.evidence import TaskSpec, build_inputs, fold_masks

DECODERS = ("adam", "ridge")


def r2_paper(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 − mse/(1/12) over the last two axes (samples × coordinates): (..., n, D) → (...)."""
    return 1.0 - ((pred - target) ** 2).mean(dim=(-2, -1)) / VAR_U


@torch.no_grad()
def final_states(
    model, encoder, task: TaskSpec, x: torch.Tensor, noise: torch.Tensor, chunk: int = 2048
) -> torch.Tensor:
    """Hidden state of every network at the trial's last step: (K, n, H) for shared trials x (n, D).

    The model is run noise-for-noise on the same trials for every member, in chunks of trials.
    """
    device = next(model.parameters()).device
    k = model.n_members
    # an architecture may compute the last step alone more cheaply (GPT-2: the MLP at one position)
    last = getattr(model, "last_state", None) or (lambda u: model(u)[:, :, -1])
    out = []
    for start in range(0, x.shape[0], chunk):
        xs = x[start : start + chunk].to(device).expand(k, -1, -1)
        ns = noise[start : start + chunk].to(device).expand(k, -1, -1, -1)
        u = build_inputs(task, encoder, xs, ns)
        out.append(last(u))
    return torch.cat(out, dim=1)


def _fit_plan(x_train: torch.Tensor, x_test: torch.Tensor):
    """Decoder fits per network: the OOD folds (train outside the region, test inside) and the ID
    fit (train on everything, test on each region): fold names, train masks, test masks."""
    names, train_regions = fold_masks(x_train)
    _, test_regions = fold_masks(x_test)
    train_masks = torch.cat([~train_regions, torch.ones_like(train_regions[:1])])  # OOD folds + ID
    return names, train_masks, test_regions


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
        feats = feats_all[net_of_row[:r, None], idx]  # (r, B, H + 1)
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


PAPER_BUDGET = {2: 3000, 3: 3000, 6: 2000, 12: 1000, 24: 1000}  # generalize.py, N -> batches


def decoder_budget(n_tasks: int, n_batches: int | str) -> int:
    """Adam batches for one fit: ``n_batches`` itself, or with ``'paper'`` the authors' budget for
    ``n_tasks`` (unlisted N take the entry of the nearest smaller listed N; N < 2 takes N = 2's)."""
    if n_batches != "paper":
        return int(n_batches)
    listed = [n for n in sorted(PAPER_BUDGET) if n <= n_tasks] or [min(PAPER_BUDGET)]
    return PAPER_BUDGET[listed[-1]]


def ood_generalisation(
    model, encoder, task: TaskSpec, members: list[tuple[int, int]], evaluation: dict, settings: dict
) -> list[dict]:
    """OOD and ID r² of every network of an ensemble, as tidy rows.

    ``settings`` is ``config['metrics']['ood']``: ``decoder`` ('adam' | 'ridge'), ``n_fits`` and
    the decoder's own block. Row keys: n_tasks, seed, fold, held_out, fit, metric, value.
    """
    decoder = settings["decoder"]
    return ood_by_decoder(model, encoder, task, members, evaluation, settings, [decoder])[decoder]


def ood_by_decoder(
    model,
    encoder,
    task: TaskSpec,
    members: list[tuple[int, int]],
    evaluation: dict,
    settings: dict,
    decoders: list[str],
) -> dict[str, list[dict]]:
    """``ood_generalisation``'s rows for each of several decoders, fitted to the same final states
    (the networks run once): {decoder: rows}. Each decoder reads its own block of ``settings``.

    The workflow fits the configured decoder and, beside it, the closed-form ridge decoder: the
    paper's Adam protocol is fragile where the states are large (the non-leaky RNN's integrated
    rates), and the closed form shows what a linear read-out of the same states can reach.
    """
    unknown = [d for d in decoders if d not in DECODERS]
    if unknown:
        raise ValueError(f"decoders {unknown}: expected each to be one of {DECODERS}")
    x_train, x_test = evaluation["x_train"], evaluation["x_test"]
    train_states = final_states(model, encoder, task, x_train, evaluation["noise_train"])
    test_states = final_states(model, encoder, task, x_test, evaluation["noise_test"])
    return {
        d: ood_rows(train_states, x_train, test_states, x_test, members, {**settings, "decoder": d})
        for d in dict.fromkeys(decoders)
    }


def ood_rows(
    train_states: torch.Tensor,
    x_train: torch.Tensor,
    test_states: torch.Tensor,
    x_test: torch.Tensor,
    members: list[tuple[int, int]],
    settings: dict,
) -> list[dict]:
    """OOD and ID r² rows from any representation: states (K, n, H) of K networks (or the codes of
    K models) for the training and test trials, latents x (n, D). See ``ood_generalisation``."""
    decoder = settings["decoder"]
    if decoder not in DECODERS:
        raise ValueError(f"metrics.ood.decoder = {decoder!r}: expected one of {DECODERS}")
    n_fits = int(settings["n_fits"])
    names, train_masks, test_regions = _fit_plan(x_train, x_test)
    n_folds = len(names)
    device = train_states.device
    if decoder == "adam":
        cfg = settings["adam"]
        streams = [generator("decoder", seed, n_tasks) for n_tasks, seed in members]
        w, b = fit_adam(
            train_states,
            x_train.to(device),
            train_masks,
            n_fits,
            [decoder_budget(n_tasks, cfg["n_batches"]) for n_tasks, _ in members],
            float(cfg["lr"]),
            int(cfg["batch_size"]),
            streams,
        )
        weight, bias = w.cpu(), b.cpu()
    else:
        weight, bias = fit_ridge(
            train_states, x_train, train_masks, n_fits, float(settings["ridge"]["penalty"])
        )
    test_states = test_states.cpu()
    rows = []
    for i, (n_tasks, seed) in enumerate(members):
        # pred[m, j] = decoder (m, j) applied to every test trial: (M, n_fits, n_test, D)
        pred = torch.einsum("nh,mjhd->mjnd", test_states[i], weight[i]) + bias[i][:, :, None]
        for q in range(n_folds):
            region = test_regions[q]
            if not region.any():
                continue
            target = x_test[region]
            ood = r2_paper(pred[q][:, region], target)  # fold q's decoders on region q
            idd = r2_paper(pred[n_folds][:, region], target)  # the ID decoders on region q
            for j in range(n_fits):
                for metric, value in (("ood_r2", ood[j]), ("id_r2", idd[j])):
                    rows.append(
                        {
                            "n_tasks": n_tasks,
                            "seed": seed,
                            "fold": q,
                            "held_out": names[q],
                            "fit": j,
                            "metric": metric,
                            "value": float(value),
                        }
                    )
    return rows
