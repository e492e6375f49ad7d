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

import torch

from disentangle.prior import VAR_U
from disentangle.prior import information_ceiling as information_ceiling  # re-exported
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
    n_batches: int,
    lr: float,
    batch_size: int,
    streams: list[torch.Generator],
):
    """Fit n_fits × len(train_masks) Adam decoders for each network, all at once.

    ``states`` (K, n, H) and latents ``x`` (n, D) form the training pool; fit (m, j) of network k
    draws its minibatches from the trials where ``train_masks[m]`` is true. Network k's initial
    weights and minibatch indices come from ``streams[k]`` only. Returns W (K, M, n_fits, H, D) and
    b (K, M, n_fits, D).
    """
    k, n, h = states.shape
    d = x.shape[1]
    m = train_masks.shape[0]
    f = m * n_fits
    device = states.device
    # Per-mask index tables, padded; a fit draws u ~ U[0,1) and takes table[⌊u·size⌋].
    sizes = train_masks.sum(dim=1)
    table = torch.zeros((m, int(sizes.max())), dtype=torch.long)
    for i in range(m):
        idx = torch.nonzero(train_masks[i]).squeeze(1)
        table[i, : idx.numel()] = idx
    bound = h**-0.5
    w0, b0, draws = [], [], []
    for g in streams:
        w0.append(torch.stack([uniform((d, h), bound, g).T for _ in range(f)]))
        b0.append(torch.stack([uniform((d,), bound, g) for _ in range(f)]))
        draws.append(torch.rand((n_batches, f, batch_size), generator=g))
    weight = torch.nn.Parameter(torch.stack(w0).reshape(k * f, h, d).to(device))
    bias = torch.nn.Parameter(torch.stack(b0).reshape(k * f, 1, d).to(device))
    draws = torch.stack(draws, dim=1).to(device)  # (n_batches, K, F, B)
    mask_of_fit = torch.arange(m).repeat_interleave(n_fits).to(device)  # (F,)
    size_of_fit = sizes.to(device)[mask_of_fit].float()
    table = table.to(device)[mask_of_fit]  # (F, max_size)
    net_of_row = torch.arange(k, device=device).repeat_interleave(f)  # (K·F,)
    opt = torch.optim.Adam([weight, bias], lr=lr)
    for step in range(n_batches):
        pos = (draws[step] * size_of_fit[None, :, None]).long()  # (K, F, B)
        idx = torch.gather(table.expand(k, -1, -1), 2, pos).reshape(k * f, batch_size)
        feats = states[net_of_row[:, None], idx]  # (K·F, B, H)
        pred = torch.baddbmm(bias, feats, weight)
        loss = ((pred - x[idx]) ** 2).mean(dim=(1, 2)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (weight.detach().reshape(k, m, n_fits, h, d), bias.detach().reshape(k, m, n_fits, d))


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
    dim = x_train.shape[1]
    names, train_masks, test_regions = _fit_plan(x_train, x_test)
    n_folds = len(names)
    device = train_states.device
    k = len(members)
    m = train_masks.shape[0]
    weight = torch.zeros((k, m, n_fits, train_states.shape[-1], dim))
    bias = torch.zeros((k, m, n_fits, dim))
    if decoder == "adam":
        cfg = settings["adam"]
        groups: dict[int, list[int]] = {}
        for i, (n_tasks, _) in enumerate(members):
            groups.setdefault(decoder_budget(n_tasks, cfg["n_batches"]), []).append(i)
        for budget, rows in groups.items():
            streams = [generator("decoder", members[i][1], members[i][0]) for i in rows]
            w, b = fit_adam(
                train_states[rows],
                x_train.to(device),
                train_masks,
                n_fits,
                budget,
                float(cfg["lr"]),
                int(cfg["batch_size"]),
                streams,
            )
            weight[rows], bias[rows] = w.cpu(), b.cpu()
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
