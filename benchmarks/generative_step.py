"""Training-step time of the dSprites generative models, channels-last vs plain NCHW layout.

    python benchmarks/generative_step.py                 # 1 thread (the workflow's default)
    python benchmarks/generative_step.py --threads 2

The β-VAE family and InfoGAN spend their time in the conv encoder and deconv decoder
(``disentangle.generative.networks``). Those keep weights and activations channels-last
(``CONV_MEMORY_FORMAT``); this script builds each model twice, once per layout, and times whole
training steps (batch 64: forward, each parameter group's gradient, Adam) alternately in one
process, so that both layouts see the same machine state. It prints the median step time of each,
the ratio, and the largest difference between the two layouts' losses on the first step (the same
maths; only rounding may differ).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from disentangle.generative import build_model, networks
from disentangle.generative.sources import DSpritesSource
from disentangle.generative.train import apply_gradients, data_rng
from disentangle.seeding import generator
from disentangle.training import make_adam

METHODS = {
    "beta_vae": {"method": "beta_vae", "beta": 4.0, "lr": 1e-3},
    "factor_vae": {"method": "factor_vae", "gamma": 20.0, "lr": 1e-3},
    "infogan": {"method": "infogan"},
}


def stepper(spec: dict, layout: torch.memory_format, batches: list[torch.Tensor]):
    """A closure running one training step of a fresh model built under ``layout``."""
    saved = networks.CONV_MEMORY_FORMAT
    networks.CONV_MEMORY_FORMAT = layout
    try:
        model = build_model({**spec, "seed": 0}, DSpritesSource.observation_shape).train()
    finally:
        networks.CONV_MEMORY_FORMAT = saved
    settings = model.optimizer_settings()
    groups = model.parameter_groups()
    opts = {name: make_adam(groups[name], **settings[name]) for name in settings}

    def step(i: int) -> dict[str, float]:
        networks.CONV_MEMORY_FORMAT = layout  # the forward passes read it too
        try:
            losses, _ = model.losses(batches[i % len(batches)], None, i, generator("n", 0, i))
            apply_gradients(model, losses, opts)
        finally:
            networks.CONV_MEMORY_FORMAT = saved
        return {k: float(v.detach()) for k, v in losses.items()}

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=6, help="alternating timing rounds per layout")
    ap.add_argument("--steps", type=int, default=5, help="training steps per round")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    src = DSpritesSource()
    batches = [src.sample(64, data_rng(0, s))[0] for s in range(8)]
    layouts = {"channels_last": torch.channels_last, "nchw": torch.contiguous_format}
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), "
        f"cpu capability {torch.backends.cpu.get_cpu_capability()}"
    )
    print(f"{'method':12s} {'NCHW ms':>9s} {'ch-last ms':>11s} {'speedup':>8s} {'loss diff':>10s}")
    for name in args.methods:
        steps = {k: stepper(METHODS[name], v, batches) for k, v in layouts.items()}
        first = {k: f(0) for k, f in steps.items()}
        diff = max(abs(first["channels_last"][g] - first["nchw"][g]) for g in first["nchw"])
        for f in steps.values():  # warm-up
            for i in range(1, 3):
                f(i)
        times: dict[str, list[float]] = {k: [] for k in steps}
        for _ in range(args.rounds):
            for k, f in steps.items():
                t = time.perf_counter()
                for i in range(args.steps):
                    f(i)
                times[k].append((time.perf_counter() - t) / args.steps * 1e3)
        a, b = statistics.median(times["nchw"]), statistics.median(times["channels_last"])
        print(f"{name:12s} {a:9.1f} {b:11.1f} {a / b:7.2f}× {diff:10.2e}")


if __name__ == "__main__":
    main()
