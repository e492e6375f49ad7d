"""FLOP and time estimate of a whole preset (default: the paper preset), for CPU and for one GPU.

    python benchmarks/paper_estimate.py                     # config/paper.yaml
    python benchmarks/paper_estimate.py --preset quick      # the default config
    python benchmarks/paper_estimate.py --no-calibrate      # use the rates below, no timing
    python benchmarks/paper_estimate.py --per-panel         # also: what each panel trains

For every ensemble the workflow trains (experiments after sweeps are expanded): networks K,
batches, FLOPs per network-batch (``train_throughput.train_step_flops``), total FLOPs. CPU time:
the ensemble engine's measured batches/s for that architecture and K on this machine (a short
calibration run per distinct (architecture, K); one thread per job, two jobs side by side on two
cores, as the workflow runs them). GPU time: these networks are tiny, so one training batch is
bound by kernel-launch latency, not FLOPs; the estimate is ``batches × step_ms`` with a per-batch
latency per architecture (defaults below, from typical ~5-10 µs launches × the kernels of one
forward and backward pass; pass ``--gpu-step-ms`` to use a measured figure), plus the FLOP time at
a sustained 20 TFLOP/s, which only matters for large ensembles. The generative models (dSprites conv
VAEs, InfoGAN) are added from their CPU step time, measured per method on this machine (one
thread, one job; ``--no-calibrate``: 0.10 s, the 2026-11-23 host's β-VAE), and a GPU step time of
~3 ms.

``--per-panel`` adds, for every panel and for each section target (``paper_panels``, ...), the
training time of the ensembles and models it needs (each counted once; training only, not the
metrics and notebooks): what ``snakemake figures/<panel>.pdf`` costs on a clean ``results/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from train_throughput import engine_rate, train_step_flops  # noqa: E402

from disentangle.config import deep_merge, load_and_check  # noqa: E402
from disentangle.runtime import tune_allocator  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
GPU_STEP_MS = {"leaky_rnn": 2.5, "nonleaky_rnn": 2.5, "gru": 3.5, "lstm": 2.0, "gpt2": 3.0}
GPU_TFLOPS = 20.0
CPU_RATE_FALLBACK = {
    "leaky_rnn": 1600,
    "nonleaky_rnn": 1600,
    "gru": 1100,
    "lstm": 1100,
    "gpt2": 450,
}  # network-batches/s on one core, K ≈ 15 (measured, idle AVX512 box, 2026-11-23); the AVX2
# 2-vCPU host of 2026-11-30 calibrates ~960 (leaky RNN, K = 15), 350 (LSTM and GRU, K = 10) and
# 167 (GPT-2, K = 15): --no-calibrate is a rough figure, calibrate on the machine you will use.
GENERATIVE_CPU_S = {"dsprites": 0.10, "task": 0.0015}  # s per step, one core (2026-11-23 host)
GENERATIVE_GPU_S = {"dsprites": 0.003, "task": 0.0015}
# table kinds made from an experiment's ingredients alone (workflow/rules/analysis.smk, `examples`)
UNTRAINED_KINDS = {"task_example", "encoder_example"}


def generative_step_s(spec: dict, steps: int = 10) -> float:
    """Measured seconds per training step (batch 64, one thread) of a dSprites model built from
    ``spec`` (its method and hyperparameters), as ``train_generative`` runs it: median of
    ``steps`` steps after two warm-up steps."""
    import statistics
    import time

    import torch
    from generative_step import stepper

    from disentangle.generative import networks
    from disentangle.generative.sources import DSpritesSource
    from disentangle.generative.train import data_rng

    torch.set_num_threads(1)
    src = DSpritesSource()
    batches = [src.sample(64, data_rng(0, s))[0] for s in range(4)]
    step = stepper(spec, networks.CONV_MEMORY_FORMAT, batches)
    step(0), step(1)
    times = []
    for i in range(steps):
        t = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="paper", help="paper, quick or smoke")
    parser.add_argument("--no-calibrate", action="store_true")
    parser.add_argument("--gpu-step-ms", type=float, default=None)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--per-panel", action="store_true", help="training time per panel")
    args = parser.parse_args()
    tune_allocator()  # as every workflow job is: the calibrations time what the jobs run
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    if args.preset != "quick":
        config = deep_merge(
            config, yaml.safe_load((REPO / f"config/{args.preset}.yaml").read_text())
        )
    resolved = load_and_check(config, REPO / "workflow/schemas/config.schema.yaml")
    rates: dict[tuple[str, int], float] = {}
    rows = []
    for name, exp in resolved.experiments.items():
        arch = exp["architecture"]
        k = len(exp["n_tasks"]) * len(exp["seeds"])
        batches = exp["training"]["n_batches"]
        flops = k * batches * train_step_flops(arch, max(exp["n_tasks"]))
        key = (arch, k)
        if key not in rates:
            if args.no_calibrate:
                rates[key] = CPU_RATE_FALLBACK[arch]
            else:
                rates[key] = engine_rate(arch, max(exp["n_tasks"]), k, 30, threads=1)
        cpu_s = k * batches / rates[key]
        step_ms = args.gpu_step_ms or GPU_STEP_MS[arch]
        gpu_s = batches * step_ms / 1e3 + flops / (GPU_TFLOPS * 1e12)
        rows.append((name, arch, k, batches, flops, cpu_s, gpu_s))
    step_s: dict[str, float] = {}
    for name, model in (resolved.generative or {}).items():
        steps, method = model["steps"], model["spec"]["method"]
        cpu_step = GENERATIVE_CPU_S[model["dataset"]]
        if model["dataset"] == "dsprites" and not args.no_calibrate:
            if method not in step_s:  # the step's cost does not depend on the swept values
                step_s[method] = generative_step_s(model["spec"])
            cpu_step = step_s[method]
        rows.append(
            (
                name,
                model["spec"]["method"],
                1,
                steps,
                float("nan"),
                steps * cpu_step,
                steps * GENERATIVE_GPU_S[model["dataset"]],
            )
        )
    print(f"{'ensemble':<34}{'arch':<14}{'K':>4}{'batches':>9}{'PFLOP':>9}{'CPU h':>8}{'GPU h':>8}")
    for name, arch, k, batches, flops, cpu_s, gpu_s in rows:
        pf = f"{flops / 1e15:.4f}" if flops == flops else "-"
        print(
            f"{name:<34}{arch:<14}{k:>4}{batches:>9}{pf:>9}{cpu_s / 3600:>8.2f}{gpu_s / 3600:>8.2f}"
        )
    total_flops = sum(r[4] for r in rows if r[4] == r[4])
    cpu_h = sum(r[5] for r in rows) / 3600
    gpu_h = sum(r[6] for r in rows) / 3600
    print(
        f"total: {sum(r[2] for r in rows)} networks/models, {total_flops / 1e15:.2f} PFLOP of "
        f"multi-task training; CPU {cpu_h:.1f} core-hours = {cpu_h / args.cores:.1f} h on "
        f"{args.cores} cores (one-thread jobs side by side); one GPU {gpu_h:.1f} h "
        f"(latency-bound estimate, jobs in sequence)"
    )
    if args.per_panel:
        print_per_panel(resolved, config["panels"], rows, args.cores)


def print_per_panel(resolved, panels: dict, rows: list[tuple], cores: int) -> None:
    """Training time of what each panel, and each section target, needs (each ensemble once)."""
    cost = {name: (cpu_s, gpu_s) for name, _, _, _, _, cpu_s, gpu_s in rows}
    needs: dict[str, set[str]] = {}
    for panel, kinds in resolved.panels.items():
        needs[panel] = {
            n
            for kind, names in kinds.items()
            if kind not in UNTRAINED_KINDS
            for n in names
            if n in cost
        }
    sections: dict[str, set[str]] = {}
    for panel, entry in panels.items():
        sections.setdefault(f"{entry['section']}_panels", set()).update(needs[panel])
    sections["all"] = set().union(*needs.values())
    print(f"\n{'panel / target':<34}{'trains':>7}{'CPU core-h':>12}{'GPU h':>8}")
    for label, names in [*needs.items(), *sections.items()]:
        cpu_h = sum(cost[n][0] for n in names) / 3600
        gpu_h = sum(cost[n][1] for n in names) / 3600
        print(f"{label:<34}{len(names):>7}{cpu_h:>12.2f}{gpu_h:>8.2f}")
    print(
        f"(training only; on {cores} cores divide the core-hours by {cores}: the jobs are "
        "one-thread and run side by side)"
    )


if __name__ == "__main__":
    main()
