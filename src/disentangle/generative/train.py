"""Training one generative model: a loop you can read top to bottom, with checkpoint and resume.

Each step: draw a minibatch from the data source with the numpy stream ("generative-data", seed,
step); run the model's forward pass with the torch stream ("generative-noise", seed, step) for its
own draws (ε, permutations, GAN codes); differentiate each parameter group's loss with respect to
that group only; step every Adam optimiser. Because each step's randomness is keyed by the step
number, a resumed run sees exactly the draws an uninterrupted run would have seen.

Defaults follow dlib (docs/replication.md, "Generative models"): batch 64, Adam per the model (lr
1e-4 for the VAE family), one minibatch per step drawn uniformly with replacement. dlib trains
300,000 steps.

Checkpoint, resume and preemption follow ``disentangle.checkpointing`` (the ensemble trainer's
too): checkpoints go to an undeclared path and carry a guard, a hash of the spec, seed, step
count, batch size and the data source's identity (``settings_guard``). A damaged (SHA-256
mismatch, truncated), foreign or other-settings checkpoint restarts the run from scratch, which
ends with the same weights. The final file is written atomically with a SHA-256 sidecar, holds
tensors and plain data only (the model state, the spec and the training history) and loads with
``weights_only=True``; ``load_generative`` checks and rebuilds the model, and ``represent`` turns
observations into codes.

A logged number (the loss and its terms, already Python floats) that is NaN or infinite stops the
run at that step with ``checkpointing.NonFiniteLoss`` (exit status 1, one line) and no model file.

Devices: ``device`` is resolved and checked as the ensemble trainer's (``training.resolve_device``)
and gets the same deterministic settings (``provenance.configure_determinism``: on CUDA no TF32,
deterministic cuDNN and strict deterministic algorithms). Every random draw is made on the CPU
from the step's generator and moved to the device, so a run draws the same numbers on any device.
The model file's ``info`` and sidecar record the device, its name, the settings and the Adam
kernel; a checkpoint written on another device type is not resumed (``checkpointing``).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable

import numpy as np
import torch

from disentangle.checkpointing import Checkpointer, NonFiniteLoss, finite_members
from disentangle.generative import build_model, split_spec
from disentangle.generative.base import GenerativeModel
from disentangle.io import atomic_torch_save, load_torch
from disentangle.progress import format_seconds
from disentangle.provenance import configure_determinism, device_name, write_sidecar
from disentangle.seeding import derive_seed, generator
from disentangle.training import adam_implementation, make_adam, resolve_device

MODEL_FORMAT = "disentangle.generative/1"


def settings_guard(spec: dict, seed: int, n_steps: int, batch_size: int, data: dict) -> str:
    """What a checkpoint must match to be resumed: 16 hex characters of a SHA-256."""
    key = {"spec": spec, "seed": seed, "n_steps": n_steps, "batch_size": batch_size, "data": data}
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def data_rng(seed: int, step: int) -> np.random.Generator:
    """The numpy generator of one step's minibatch."""
    return np.random.default_rng(derive_seed("generative-data", seed, step))


def apply_gradients(
    model: GenerativeModel,
    losses: dict[str, torch.Tensor],
    optimizers: dict[str, torch.optim.Optimizer],
) -> None:
    """Each group's gradient of its own loss, then every optimiser steps (simultaneous update)."""
    groups = model.parameter_groups()
    names = list(optimizers)
    for i, name in enumerate(names):
        params = groups[name]
        grads = torch.autograd.grad(
            losses[name], params, retain_graph=i < len(names) - 1, allow_unused=True
        )
        for p, grad in zip(params, grads, strict=True):
            p.grad = grad  # None for a parameter the loss does not use: Adam skips it
    for opt in optimizers.values():
        opt.step()


def train_generative(
    spec: dict,
    data_source,
    out_path: str,
    checkpoint_path: str,
    n_steps: int,
    batch_size: int = 64,
    seed: int | None = None,
    device: str = "auto",
    log: Callable[[str], None] | None = None,
    checkpoint_every: int = 1000,
    log_every: int = 100,
    stop_after: int | None = None,
    threads: int | None = None,
    cleanup: bool = True,
) -> dict | None:
    """Train the model of ``spec`` on ``data_source`` for ``n_steps``; write and return the result.

    ``data_source`` has ``observation_shape``, ``n_aux``, ``sample(n, rng) -> (x, u | None)`` and
    ``describe() -> dict`` (``sources.DSpritesSource``, ``sources.ArraySource``). ``seed`` defaults
    to ``spec["seed"]``. ``stop_after`` checkpoints after that many steps and returns None, as if
    the job had been killed right after a checkpoint. ``cleanup`` removes the checkpoint once the
    final file exists. The result holds ``spec`` (with the seed), ``model`` (state dict),
    ``history`` (window means of the logged numbers every ``log_every`` steps) and ``info``.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    for name, value in (("n_steps", n_steps), ("batch_size", batch_size)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} = {value!r}: expected a positive integer")
    for name, value in (("checkpoint_every", checkpoint_every), ("log_every", log_every)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} = {value!r}: expected a positive integer")
    if threads:
        torch.set_num_threads(threads)
    dev = resolve_device(device, log)
    determinism = configure_determinism(dev)

    # set-up: the model and one Adam per parameter group
    method, _, seed = split_spec(spec, seed)
    spec = {**spec, "seed": seed}
    model = build_model(spec, data_source.observation_shape, data_source.n_aux).to(dev).train()
    settings = model.optimizer_settings()
    groups = model.parameter_groups()
    optimizers = {name: make_adam(groups[name], **settings[name]) for name in settings}

    # resume: the last checkpoint of these settings and this data, if any
    guard = settings_guard(spec, seed, n_steps, batch_size, data_source.describe())
    ckpt = Checkpointer(
        checkpoint_path,
        guard,
        f"{method} (seed {seed})",
        total=n_steps,
        every=checkpoint_every,
        log=log,
        stop_after=stop_after,
        device_type=dev.type,
    )
    start, history, window, window_n = 0, [], {}, 0
    state = ckpt.resume()
    if state is not None:
        model.load_state_dict(state["model"])
        for name, opt in optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        start, history = state["step"], state["history"]
        window, window_n = state["window"], state["window_n"]

    def checkpoint_state() -> dict:
        return {
            "model": model.state_dict(),
            "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
            "history": history,
            "window": window,
            "window_n": window_n,
        }

    log(
        f"training {method} (seed {seed}): {n_steps} steps of {batch_size} on {dev}, "
        f"{torch.get_num_threads()} threads"
    )
    t_start = t_last = time.perf_counter()
    steps_since = 0
    with ckpt.preemptible():  # SIGTERM / SIGUSR1: checkpoint at the next step, then exit 75
        for step in range(start, n_steps):
            # data and forward: this step's minibatch and noise, keyed by (seed, step)
            x, u = data_source.sample(batch_size, data_rng(seed, step))
            x = x.to(dev)
            u = None if u is None else u.to(dev)
            losses, logs = model.losses(x, u, step, generator("generative-noise", seed, step))
            bad = [key for key, value in logs.items() if not math.isfinite(value)]
            if bad:  # the logs are floats already: checking every step costs nothing
                raise NonFiniteLoss(
                    f"{method} (seed {seed}): non-finite {', '.join(bad)} (NaN or inf) at step "
                    f"{step + 1}; stopping without writing the model file"
                )
            # update: each group's gradient of its own loss, every Adam steps
            apply_gradients(model, losses, optimizers)
            # log: window means every log_every steps
            for key, value in logs.items():
                window[key] = window.get(key, 0.0) + value
            window_n += 1
            steps_since += 1
            done = step + 1
            if done % log_every == 0 or done == n_steps:
                means = {key: value / window_n for key, value in window.items()}
                history.append({"step": done, **means})
                now = time.perf_counter()
                rate = steps_since / max(now - t_last, 1e-9)
                shown = ", ".join(f"{k} {v:.4g}" for k, v in means.items())
                eta = format_seconds((n_steps - done) / max(rate, 1e-9))
                log(f"step {done}/{n_steps} {shown} | {rate:.1f} steps/s | ETA {eta}")
                window, window_n, steps_since, t_last = {}, 0, 0, now
            # checkpoint: every checkpoint_every steps, at stop_after, on a preemption signal
            if ckpt.maybe_save(done, checkpoint_state):
                return None

    # finish: no diverged weights, then the model file; it supersedes the checkpoint
    if not all(finite_members(model.parameters())):
        raise NonFiniteLoss(  # the last update overflowed a weight after a finite loss
            f"{method} (seed {seed}): non-finite weights (NaN or inf) after step {n_steps}; "
            "stopping without writing the model file"
        )
    wall = time.perf_counter() - t_start
    adam = {name: adam_implementation(groups[name]) for name in optimizers}
    result = {
        "format": MODEL_FORMAT,
        "method": method,
        "spec": spec,
        "observation_shape": list(data_source.observation_shape),
        "n_aux": int(data_source.n_aux),
        "model": {name: t.detach().cpu() for name, t in model.state_dict().items()},
        "history": history,
        "info": {
            "n_steps": n_steps,
            "batch_size": batch_size,
            "data": data_source.describe(),
            "device": str(dev),
            "device_name": device_name(dev),
            "threads": torch.get_num_threads(),
            "torch": str(torch.__version__),  # a plain str: TorchVersion fails weights_only
            "determinism": determinism,
            "adam": adam,
            "wall_seconds_last_session": wall,
            "resumed_from": start,
            "guard": guard,
        },
    }
    atomic_torch_save(result, out_path)
    write_sidecar(out_path, dev, method=method, seed=seed, spec=spec, guard=guard, adam=adam)
    if cleanup:
        ckpt.finish()
    log(f"done: {method} (seed {seed}), {n_steps - start} steps in {wall:.1f} s")
    return result


def load_generative(path: str, device: str | torch.device = "cpu") -> tuple[GenerativeModel, dict]:
    """Rebuild a trained model (eval mode, on ``device``) from a file written by
    ``train_generative``, after checking it against its SHA-256 sidecar (``IntegrityError`` if
    damaged or unrecorded) and loading it with ``weights_only=True``; ``obj["sha256"]`` is the
    file's digest. A job resolves and configures its device first (``jobs.generative``)."""
    obj, digest = load_torch(path, with_digest=True)
    if not isinstance(obj, dict) or obj.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path}: not a generative model file (expected format {MODEL_FORMAT})")
    obj["sha256"] = digest
    model = build_model(obj["spec"], obj["observation_shape"], obj["n_aux"])
    model.load_state_dict(obj["model"])
    return model.to(resolve_device(device)).eval(), obj


@torch.no_grad()
def represent(
    model: GenerativeModel,
    observations: np.ndarray | torch.Tensor,
    aux: np.ndarray | torch.Tensor | None = None,
    batch_size: int = 256,
) -> np.ndarray:
    """Codes (n, n_codes) float64 of observations: posterior means (VAEs, iVAE with ``aux``) or
    InfoGAN's Q estimate of c, computed ``batch_size`` rows at a time in eval mode."""
    x = torch.as_tensor(
        np.asarray(observations) if not torch.is_tensor(observations) else observations
    )
    x = x.to(torch.float32)
    if tuple(x.shape[1:]) != model.observation_shape:
        raise ValueError(f"observations {tuple(x.shape)}: expected (n, *{model.observation_shape})")
    u = None if aux is None else torch.as_tensor(np.asarray(aux), dtype=torch.float32)
    if u is not None and u.shape[0] != x.shape[0]:
        raise ValueError(f"aux {tuple(u.shape)}: expected {x.shape[0]} rows like the observations")
    dev = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, x.shape[0], int(batch_size)):
        xb = x[start : start + batch_size].to(dev)
        ub = None if u is None else u[start : start + batch_size].to(dev)
        out.append(model.represent(xb, ub).cpu())
    model.train(was_training)
    codes = torch.cat(out) if out else torch.zeros((0, 0))
    return codes.numpy().astype(np.float64)


def factor_representation(
    model: GenerativeModel, batch_size: int = 256, source=None
) -> Callable[[np.ndarray], np.ndarray]:
    """``represent(factors) -> codes`` for dSprites factor indices (the frames of ``source``, a
    ``DSpritesSource``, by default the procedural renderer; then encodes), the interface of
    ``disentangle.metrics.beta_vae_score`` and ``factor_vae_score``."""
    from disentangle.generative.sources import DSpritesSource

    observations = (source or DSpritesSource()).observations

    def rep(factors: np.ndarray) -> np.ndarray:
        return represent(model, observations(factors), batch_size=batch_size)

    return rep
