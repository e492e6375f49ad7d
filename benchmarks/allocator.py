"""What ``disentangle.runtime.tune_allocator`` saves: the same work with and without it.

    python benchmarks/allocator.py                 # 1 thread (the workflow's default), 3 rounds
    python benchmarks/allocator.py --rounds 5 --threads 2

The workflow's commands call ``tune_allocator`` first (``disentangle.cli.main``). Allocator
settings are per process and the heap remembers its history, so each measurement runs in a fresh
child process, alternating tuned / untuned (``DISENTANGLE_MALLOC_TUNING=1`` / ``0``) round by
round. Workloads, each the hot loop of a rule:
- ``encode``: posterior means of 4096 binary 64×64 images by the dSprites β-VAE encoder at batch
  256 (``generative.train.represent``, the bulk of ``score_generative``);
- ``vae_step``: 10 β-VAE training steps at batch 64 (``train_generative``);
- ``lstm_states``: final states of a 15-member LSTM ensemble on 8192 trials in chunks of 2048
  (``metrics.ood.final_states``, the first half of ``ood_generalisation``).
Printed per workload: the median wall time of each variant, the ratio, and the kernel (system)
time and minor page faults of the timed part, which is where the difference comes from.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generative_step import METHODS, stepper  # noqa: E402

WORKLOADS = ("encode", "vae_step", "lstm_states")


def child(workload: str, threads: int) -> dict:
    """One workload in this process: wall time, system time, minor faults of the timed part."""
    from disentangle.runtime import tune_allocator

    tuned = tune_allocator()
    import torch

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    if workload == "encode":
        from disentangle.generative import build_model
        from disentangle.generative.sources import DSpritesSource
        from disentangle.generative.train import represent

        spec = {**METHODS["beta_vae"], "seed": 0}
        model = build_model(spec, DSpritesSource.observation_shape)
        x = (torch.rand(4096, 1, 64, 64, generator=g) > 0.9).float()
        represent(model, x[:512], batch_size=256)  # warm-up

        def work():
            represent(model, x, batch_size=256)

    elif workload == "vae_step":
        from disentangle.generative import networks

        batches = [(torch.rand(64, 1, 64, 64, generator=g) > 0.9).float() for _ in range(4)]
        step = stepper(METHODS["beta_vae"], networks.CONV_MEMORY_FORMAT, batches)
        step(0)  # warm-up

        def work():
            for i in range(1, 11):
                step(i)

    else:
        from disentangle.models import LSTM

        model = LSTM.from_members([LSTM.init_member(41, 64, g) for _ in range(15)]).eval()
        u = torch.randn(8192, 22, 41, generator=g)

        @torch.no_grad()
        def work():
            for start in range(0, u.shape[0], 2048):
                model(u[start : start + 2048].expand(15, -1, -1, -1))[:, :, -1].clone()

        work()  # warm-up, as the metrics' first chunk is
    before = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    work()
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "tuned": tuned,
        "wall_s": wall,
        "sys_s": after.ru_stime - before.ru_stime,
        "minflt": after.ru_minflt - before.ru_minflt,
    }


def measure(workload: str, tuned: bool, threads: int) -> dict:
    env = {**os.environ, "DISENTANGLE_MALLOC_TUNING": "1" if tuned else "0"}
    cmd = [sys.executable, __file__, "--child", workload, "--threads", str(threads)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3, help="alternating child runs per variant")
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    ap.add_argument("--child", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.threads)))
        return
    import platform

    import torch

    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {platform.libc_ver()}, "
        f"cpu capability {torch.backends.cpu.get_cpu_capability()}"
    )
    print(
        f"{'workload':12s} {'default s':>10s} {'tuned s':>8s} {'speedup':>8s} "
        f"{'sys s (def/tuned)':>18s} {'minor faults (def/tuned)':>25s}"
    )
    for name in args.workloads:
        runs: dict[bool, list[dict]] = {False: [], True: []}
        for _ in range(args.rounds):
            for tuned in (False, True):
                runs[tuned].append(measure(name, tuned, args.threads))
        if not all(r["tuned"] for r in runs[True]):
            print(f"{name:12s} (the allocator could not be tuned here: not glibc?)")
        med = {
            v: {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "sys_s", "minflt")}
            for v, rs in runs.items()
        }
        d, t = med[False], med[True]
        print(
            f"{name:12s} {d['wall_s']:10.2f} {t['wall_s']:8.2f} {d['wall_s'] / t['wall_s']:7.2f}× "
            f"{d['sys_s']:8.2f} / {t['sys_s']:<7.2f} {d['minflt']:12.0f} / {t['minflt']:<10.0f}"
        )


if __name__ == "__main__":
    main()
