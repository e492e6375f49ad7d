"""Training an ensemble: all networks of one experiment (task counts × seeds) at once.

The loop reads top to bottom: draw a block of trials for every member, run the ensemble forward,
sum the members' losses, one Adam step, log, checkpoint. The members never interact: each has its
own parameters (a leading K axis), its own loss term (the gradient of a sum is the per-member
gradient), its own Adam state (Adam is elementwise) and its own data stream, drawn from the seed
stream ("data", seed, n_tasks, block). A member therefore trains exactly as it would alone
(``tests/test_training.py`` checks it).

Settings follow the paper (docs/replication.md, "Training"): Adam, lr 1e-3, batches of 16 fresh
trials, sigmoid read-out with BCE on every step (targets 0.5 before the decision step). One
deliberate difference: BCE is computed from logits (``binary_cross_entropy_with_logits``), the
numerically stable form of the authors' Sigmoid + BCELoss; the two agree to rounding wherever
BCELoss does not clamp.

Checkpoint, resume and preemption follow ``disentangle.checkpointing``: checkpoints go to an
undeclared path and carry a hash of the spec and ingredients (``checkpoint_guard``); a killed job
resumes from the last one; a damaged or foreign one is ignored and the run starts from scratch,
which ends with the same weights. The final model file is written atomically, with a SHA-256
sidecar that ``load_trained`` checks, and holds tensors and plain data only (it loads with
``weights_only=True``; ``disentangle.integrity``).

A loss that turns NaN or infinite stops training with ``NonFiniteLoss`` (exit status 1, one line
naming the experiment, the step and the members) and no model file: a diverged network would
otherwise pass into every metric and figure as a result. The check reads the loss sums that the
log already brings to the CPU (every ``log_every`` steps, before each checkpoint and at the end),
so it costs no extra device synchronisation.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from disentangle.checkpointing import CHECKPOINT_FORMAT as CHECKPOINT_FORMAT  # re-exported
from disentangle.checkpointing import Checkpointer, NonFiniteLoss, finite_members
from disentangle.experiment import ExperimentSpec, Member
from disentangle.io import atomic_torch_save, load_torch
from disentangle.models import Readout, architecture
from disentangle.progress import format_seconds
from disentangle.provenance import configure_determinism, device_name, write_sidecar
from disentangle.seeding import generator
from disentangle.tasks.encoder import MixingEncoder
from disentangle.tasks.evidence import TaskSpec, build_inputs, sample_trials, trial_targets

MODEL_FORMAT = "disentangle.model/1"
DATA_BLOCK = 50  # training batches drawn per generator call: fixed, so data never depend on K


def describe_members(members: list[Member]) -> str:
    """``(n_tasks=2, seed=0), (n_tasks=6, seed=1)``: members as a message names them."""
    return ", ".join(f"(n_tasks={m.n_tasks}, seed={m.seed})" for m in members)


class DeviceUnavailable(SystemExit):
    """The configured device cannot be used here: ``cuda`` without CUDA, ``cuda:N`` beyond the
    visible GPUs, or a name torch does not know. A ``SystemExit`` whose code is its one-line
    message, so a job stops at its start with exit status 1 and that line (no traceback)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _visible() -> str:
    return f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')}"


def resolve_device(
    device: str | torch.device = "auto", log: Callable[[str], None] | None = None
) -> torch.device:
    """The ``torch.device`` a job runs on, checked here, at the job's start, on the node that runs
    it (a cluster's GPUs are only known there, so the config check cannot do it).

    ``auto``: CUDA (the current GPU, ``cuda:<index>``) when a GPU is visible, else the CPU, with
    one ``log`` line (stderr by default) saying why: a CPU-only torch build, or no GPU visible.
    ``cuda``: the current GPU; ``cuda:N``: GPU N, which must be one of the visible ones; either
    raises ``DeviceUnavailable`` (one line: what is missing) when CUDA cannot be used. ``cpu``: the
    CPU."""
    log = log or _stderr
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if torch.version.cuda is None:
            log(
                f"device auto: this torch build has no CUDA support (torch {torch.__version__}); "
                "running on the CPU"
            )
        else:
            log(
                f"device auto: torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU "
                f"({_visible()}); running on the CPU"
            )
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceUnavailable(
            f"device {device!r}: not a device name (expected auto, cpu, cuda or cuda:<index>)"
        ) from None
    if dev.type != "cuda":
        return dev
    if torch.version.cuda is None:
        raise DeviceUnavailable(
            f"device {device!r} requested but this torch build has no CUDA support (torch "
            f"{torch.__version__}): install a CUDA build of torch, or set device: auto or cpu"
        )
    if not torch.cuda.is_available():
        raise DeviceUnavailable(
            f"device {device!r} requested but torch {torch.__version__} (CUDA "
            f"{torch.version.cuda}) sees no GPU ({_visible()}; check the driver, nvidia-smi)"
        )
    count = torch.cuda.device_count()
    index = torch.cuda.current_device() if dev.index is None else dev.index
    if index >= count:
        raise DeviceUnavailable(
            f"device {device!r} requested but only {count} GPU(s) are visible here "
            f"(cuda:0..cuda:{count - 1}; {_visible()})"
        )
    return torch.device("cuda", index)


def _kernel_devices(name: str, fallback: tuple[str, ...]) -> frozenset[str]:
    """The device types torch lists for one of its optimiser kernels (``fallback`` if this torch
    has no such list)."""
    from torch.optim import optimizer

    try:
        return frozenset(getattr(optimizer, name)())
    except (AttributeError, TypeError):
        return frozenset(fallback)


#: device types with a fused Adam kernel, and with the multi-tensor (foreach) one, in this torch
FUSED_DEVICES = _kernel_devices("_get_fused_kernels_supported_devices", ("cpu", "cuda"))
FOREACH_DEVICES = _kernel_devices("_get_foreach_kernels_supported_devices", ("cuda",))


def adam_implementation(params) -> str:
    """Which Adam ``make_adam`` uses for ``params``, decided from their device type and dtype:
    ``fused`` (one kernel over all parameters) where this torch has one for the device, else
    ``foreach`` (the multi-tensor kernels), else ``for-loop`` (one tensor at a time; e.g. the
    ``meta`` device, or parameters on several devices). ``params``: tensors or param groups."""
    params = [t for p in params for t in (p["params"] if isinstance(p, dict) else [p])]
    types = {p.device.type for p in params}
    if len(types) != 1 or not all(torch.is_floating_point(p) for p in params):
        return "for-loop"
    (kind,) = types
    if kind in FUSED_DEVICES:
        return "fused"
    if kind in FOREACH_DEVICES:
        return "foreach"
    return "for-loop"


def make_adam(params, lr: float, **kwargs) -> torch.optim.Adam:
    """Adam with the fused kernel where this torch has it for the device (CPU and CUDA since
    torch 2.4): one kernel over all parameters, ~3× faster than the per-tensor loop for the
    ensemble's few large stacked tensors (and for FactorVAE's 5 × 10⁶-weight discriminator:
    15.3 → 4.4 ms per step, one thread). Same update rule; rounding may differ in the last bit,
    and every run of one installation and device type takes the same path.

    The choice is made here, up front, from the parameters' device type (``adam_implementation``):
    torch checks a fused optimiser's devices only at its first ``step()``, so constructing one and
    catching an error (this function's old fallback) never fell back. ``kwargs``: betas, eps, ..."""
    params = list(params)
    kind = adam_implementation(params)
    if kind == "fused":
        return torch.optim.Adam(params, lr=lr, fused=True, **kwargs)
    return torch.optim.Adam(params, lr=lr, foreach=kind == "foreach", **kwargs)


def pad_boundaries(boundaries: list[torch.Tensor]) -> torch.Tensor:
    """Stack per-member (N_k, D) boundary matrices into (K, N_max, D), zero rows as padding."""
    n_max = max(c.shape[0] for c in boundaries)
    out = torch.zeros((len(boundaries), n_max, boundaries[0].shape[1]))
    for k, c in enumerate(boundaries):
        out[k, : c.shape[0]] = c
    return out


def build_ensemble(exp: ExperimentSpec, ingredients: dict):
    """Fresh networks, read-outs, encoders and boundaries of ``exp`` (member order of the spec)."""
    members = exp.members()
    if [tuple(m) for m in ingredients["members"]] != [(m.n_tasks, m.seed) for m in members]:
        raise ValueError(
            f"ingredients of {ingredients.get('experiment')!r} list members "
            f"{ingredients['members']} but the experiment {exp.name!r} has "
            f"{[(m.n_tasks, m.seed) for m in members]}"
        )
    arch = architecture(exp.architecture)
    input_size = exp.task.input_size
    nets, heads = [], []
    for m in members:
        g = generator("init", m.seed, m.n_tasks)
        nets.append(arch.init_member(input_size, exp.hidden_size, g))
        heads.append(Readout.init_member(exp.hidden_size, m.n_tasks, g))
    model = arch.from_members(nets)
    readout = Readout.from_members(heads)
    encoder = MixingEncoder.from_members(ingredients["encoders"], exp.task.encoder)
    return model, readout, encoder, pad_boundaries(ingredients["boundaries"])


def training_block(
    exp: ExperimentSpec,
    encoder: MixingEncoder,
    boundaries: torch.Tensor,
    block: int,
    device: torch.device,
):
    """Inputs (K, M, T, I), targets (K, M, T, N_max) and labels (K, M, N_max) of one data block.

    Member k's trials come from the stream ("data", seed_k, n_tasks_k, block), drawn on the CPU so
    that the numbers are the same on every device.
    """
    m = DATA_BLOCK * exp.training.batch_size
    xs, noises = [], []
    for member in exp.members():
        g = generator("data", member.seed, member.n_tasks, block)
        x, noise = sample_trials(exp.task, g, (m,))
        xs.append(x)
        noises.append(noise)
    x = torch.stack(xs).to(device)
    noise = torch.stack(noises).to(device)
    u = build_inputs(exp.task, encoder, x, noise)
    target, y = trial_targets(exp.task, x, noise, boundaries)
    return u, target, y


def member_losses(
    task: TaskSpec, logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Per-member loss (K,): the mean over batch × steps × the member's own N_k outputs."""
    if task.loss == "bce":
        per = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    elif task.loss == "mse":
        per = (torch.tanh(logits) - target) ** 2
    else:  # ddm: read-out bound·tanh, MSE to the bounded running evidence
        per = (task.ddm_bound * torch.tanh(logits) - target) ** 2
    k, b, t, _ = logits.shape
    return (per * mask[:, None, None, :]).sum(dim=(1, 2, 3)) / (b * t * mask.sum(dim=1))


@torch.no_grad()
def decision_accuracy(
    task: TaskSpec, logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Per-member fraction of correct binary decisions (K,) over the decision steps.

    Steps before the decision have target 0.5 (or 0) and match neither class, so they are left
    out, as in the authors' confusion matrix.
    """
    pred = logits[:, :, task.decision_slice] > 0  # sigmoid > 0.5 and tanh > 0 alike
    correct = (pred == (y.unsqueeze(2) > 0.5)).float() * mask[:, None, None, :]
    k, b, t, _ = pred.shape
    return correct.sum(dim=(1, 2, 3)) / (b * t * mask.sum(dim=1))


def checkpoint_guard(exp: ExperimentSpec, ingredients_sha256: str) -> str:
    """What a checkpoint must match to be resumed: the spec and the ingredients' bytes (their
    SHA-256, as ``load_ingredients`` verified it; 16 hex characters kept)."""
    return f"{exp.digest()}-{ingredients_sha256[:16]}"


def ensure_finite(
    exp: ExperimentSpec, members: list[Member], window_loss: torch.Tensor, done: int, n: int
) -> None:
    """Stop with ``NonFiniteLoss`` if a member's loss was NaN or inf in the ``n`` steps ending at
    step ``done``: losses are >= 0, so the window's sum (or mean) is finite exactly when every
    term is. ``window_loss`` (K,) is on the CPU."""
    ok = torch.isfinite(window_loss).tolist()
    bad = [m for m, fine in zip(members, ok, strict=True) if not fine]
    if bad:
        raise NonFiniteLoss(
            f"{exp.name}: non-finite loss (NaN or inf) by step {done} "
            f"(in steps {done - n + 1}-{done}) for member(s) {describe_members(bad)}; "
            "stopping without writing the model file"
        )


def train_ensemble(
    exp: ExperimentSpec,
    ingredients_path: str,
    out_path: str,
    checkpoint_path: str,
    device: str = "auto",
    threads: int | None = None,
    log: Callable[[str], None] | None = None,
    stop_after: int | None = None,
    cleanup: bool = True,
) -> dict | None:
    """Train every network of ``exp``; write the model file ``out_path`` and return its content.

    ``stop_after`` (for tests and time-boxed jobs) checkpoints after that many batches and returns
    None, as if the job had been killed right after a checkpoint. ``cleanup`` removes the
    checkpoint once the model file is written (the CLI does it itself after its other outputs).
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    if threads:
        torch.set_num_threads(threads)
    dev = resolve_device(device, log)
    determinism = configure_determinism(dev)
    from disentangle.data.ingredients import load_ingredients

    # set-up: the networks, their read-outs and one Adam over both
    ingredients = load_ingredients(ingredients_path)
    model, readout, encoder, boundaries = build_ensemble(exp, ingredients)
    model.to(dev).train()
    readout.to(dev)
    encoder = encoder.to(dev)
    boundaries = boundaries.to(dev)
    params = list(model.parameters()) + list(readout.parameters())
    opt = make_adam(params, exp.training.lr)
    members = exp.members()
    k = len(members)
    spec = exp.training
    n_batches, b = spec.n_batches, spec.batch_size

    # resume: the last checkpoint of this spec and these ingredients, if any
    guard = checkpoint_guard(exp, ingredients["sha256"])
    ckpt = Checkpointer(
        checkpoint_path,
        guard,
        exp.name,
        total=n_batches,
        every=spec.checkpoint_every,
        log=log,
        stop_after=stop_after,
        unit="batches",
        device_type=dev.type,
    )
    start, history = 0, []
    window = torch.zeros((2, k), device=dev)  # running sums of loss and accuracy since last log
    window_n = 0
    state = ckpt.resume()
    if state is not None:
        model.load_state_dict(state["model"])
        readout.load_state_dict(state["readout"])
        opt.load_state_dict(state["optimizer"])
        start, history = state["step"], state["history"]
        window, window_n = state["window"].to(dev), state["window_n"]

    def checkpoint_state() -> dict:
        """What a checkpoint holds after step ``done`` (the loop's), once the losses are checked."""
        window_cpu = window.cpu()
        ensure_finite(exp, members, window_cpu[0], done, window_n)  # never save a diverged run
        return {
            "model": model.state_dict(),
            "readout": readout.state_dict(),
            "optimizer": opt.state_dict(),
            "history": history,
            "window": window_cpu,
            "window_n": window_n,
        }

    log(
        f"training {exp.name}: {k} networks ({exp.architecture}, N = {list(exp.n_tasks)}, "
        f"seeds {list(exp.seeds)}), {n_batches} batches of {b} on {dev}, "
        f"{torch.get_num_threads()} threads"
    )
    cached_block, u = -1, None
    t_start = t_last = time.perf_counter()
    steps_since = 0
    with ckpt.preemptible():  # SIGTERM / SIGUSR1: checkpoint at the next step, then exit 75
        for step in range(start, n_batches):
            # data: the member streams' block of DATA_BLOCK batches, this step's rows of it
            block, offset = divmod(step, DATA_BLOCK)
            if block != cached_block:
                u, target, y = training_block(exp, encoder, boundaries, block, dev)
                cached_block = block
            rows = slice(offset * b, (offset + 1) * b)
            # forward, per-member losses, one Adam step for all members
            model.rng_step = step  # keys the dropout masks of models that have dropout (GPT-2)
            logits = readout(model(u[:, rows]))
            losses = member_losses(exp.task, logits, target[:, rows], readout.mask)
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            opt.step()
            # log: window means every log_every steps (besides checkpoints, the only sync)
            window[0] += losses.detach()
            window[1] += decision_accuracy(exp.task, logits.detach(), y[:, rows], readout.mask)
            window_n += 1
            steps_since += 1
            done = step + 1
            if done % spec.log_every == 0 or done == n_batches:
                means = (window / window_n).cpu()
                ensure_finite(exp, members, means[0], done, window_n)
                for i, m in enumerate(members):
                    history.append(
                        {
                            "step": done,
                            "n_tasks": m.n_tasks,
                            "seed": m.seed,
                            "loss": float(means[0, i]),
                            "accuracy": float(means[1, i]),
                        }
                    )
                now = time.perf_counter()
                rate = steps_since / max(now - t_last, 1e-9)
                eta = (n_batches - done) / rate
                log(
                    f"step {done}/{n_batches} loss {means[0].mean():.4f} "
                    f"acc {means[1].mean():.4f} (min {means[1].min():.4f}) | {rate:.1f} steps/s, "
                    f"{rate * k:.0f} network-steps/s | ETA {format_seconds(eta)}"
                )
                window.zero_()
                window_n, steps_since, t_last = 0, 0, now
            # checkpoint: every checkpoint_every steps, at stop_after, on a preemption signal
            if ckpt.maybe_save(done, checkpoint_state):
                return None

    # finish: no diverged weights, then the model file; it supersedes the checkpoint
    bad = [m for m, ok in zip(members, finite_members(params, k), strict=True) if not ok]
    if bad:
        raise NonFiniteLoss(
            f"{exp.name}: non-finite weights (NaN or inf) after step {n_batches} for "
            f"member(s) {describe_members(bad)}; stopping without writing the model file"
        )
    wall = time.perf_counter() - t_start
    inputs = {"ingredients": {"path": str(ingredients_path), "sha256": ingredients["sha256"]}}
    result = {
        "format": MODEL_FORMAT,
        "experiment": exp.name,
        "spec": exp.to_dict(),
        "members": [(m.n_tasks, m.seed) for m in members],
        "model": {name: t.detach().cpu() for name, t in model.state_dict().items()},
        "readout": {name: t.detach().cpu() for name, t in readout.state_dict().items()},
        "encoders": ingredients["encoders"],
        "boundaries": ingredients["boundaries"],
        "history": history,
        "info": {
            "device": str(dev),
            "device_name": device_name(dev),
            "threads": torch.get_num_threads(),
            "torch": str(torch.__version__),  # a plain str: TorchVersion fails weights_only
            "determinism": determinism,
            "adam": adam_implementation(params),
            "wall_seconds_last_session": wall,
            "resumed_from": start,
            "guard": guard,
            "inputs": inputs,
        },
    }
    atomic_torch_save(result, out_path)
    write_sidecar(
        out_path,
        dev,
        experiment=exp.name,
        spec_hash=exp.digest(),
        members=[(m.n_tasks, m.seed) for m in members],
        guard=guard,
        inputs=inputs,
        adam=adam_implementation(params),
    )
    if cleanup:
        ckpt.finish()
    final = [h["accuracy"] for h in history[-k:]] if history else [math.nan]
    log(
        f"done: {exp.name} in {format_seconds(wall)} "
        f"(final decision accuracy: mean {sum(final) / len(final):.4f}, min {min(final):.4f})"
    )
    return result


def load_trained(path: str, device: str | torch.device = "cpu"):
    """Read a model file: the spec, the trained ensemble (eval mode), its read-out and encoders.

    The file is checked against its SHA-256 sidecar first (``IntegrityError`` if it is damaged or
    has none) and loaded with ``weights_only=True``; ``obj["sha256"]`` is its digest."""
    obj, digest = load_torch(path, with_digest=True)
    if not isinstance(obj, dict) or obj.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path}: not a model file of format {MODEL_FORMAT}")
    obj["sha256"] = digest
    exp = ExperimentSpec.from_dict(obj["experiment"], obj["spec"])
    arch = architecture(exp.architecture)
    n_tasks = [n for n, _ in obj["members"]]
    template = arch.init_member(exp.task.input_size, exp.hidden_size, torch.Generator())
    model = arch.from_members([template] * len(n_tasks))
    model.load_state_dict(obj["model"])
    readout = Readout(obj["readout"]["weight"], obj["readout"]["bias"], n_tasks)
    encoder = MixingEncoder.from_members(obj["encoders"], exp.task.encoder)
    model.eval()
    readout.eval()
    return exp, model.to(device), readout.to(device), encoder.to(device), obj
