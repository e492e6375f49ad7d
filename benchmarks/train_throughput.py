"""Training throughput: the authors' per-network loop against the project's ensemble engine.

In one run, on this machine, the same task and architecture:
(a) a faithful per-network reference loop in the authors' style — one network, batch 16, a fresh
    batch of trials per step, the RNN unrolled by a Python loop over the 22 time steps with
    nn.Linear layers (the LSTM as one nn.LSTM, GPT-2 as one block over the sequence), the frozen
    mixing MLP applied to every step's noisy input, sigmoid + BCELoss, Adam; one process;
(b) the ensemble engine (``disentangle.training.train_ensemble``) training K networks at once.
Both are timed in steady state, after a warm-up (the reference: its first 5 steps; the engine: its
first block of 50 batches, since it draws and encodes trials a block at a time), in one process
with the workflow's allocator settings (``disentangle.runtime.tune_allocator``, as every workflow
command applies them).

Printed per row: network-steps/s (one network trained on one batch = one network-step), the
speed-up over (a), the achieved GFLOP/s from a FLOP count of one training step
(``train_step_flops``), and that as a fraction of the machine's float32 matmul rate measured in the
same run (the best of a few timings of a large square torch.mm).

    python benchmarks/train_throughput.py --quick   # < 3 min on 2 cores; the CI-sized run
    python benchmarks/train_throughput.py           # K up to 200, more steps
    python benchmarks/train_throughput.py --quick --device cuda   # both loops on the GPU
    python benchmarks/train_throughput.py --tiny    # seconds: that it runs (gpu_check --dry-run)

``--device`` runs both loops and the matmul peak there (the CPU by default); on CUDA every timing
synchronises the device first, so that queued kernels are not left out.

The last line is ``speedup=<x> peak_fraction=<y>`` for the leaky RNN at the largest K run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from statistics import median

import torch
from torch import nn

from disentangle.data.ingredients import write_ingredients
from disentangle.experiment import ExperimentSpec
from disentangle.runtime import tune_allocator
from disentangle.tasks.encoder import ENCODER_WIDTHS
from disentangle.training import DATA_BLOCK, train_ensemble

T_STEPS, STIM_STEPS, BATCH, HIDDEN, INPUTS, DIM = 22, 20, 16, 64, 41, 2


#: gate blocks per step (one W_in and one W_rec block each); GPT-2: its one input projection
GATES = {"leaky_rnn": 1, "nonleaky_rnn": 1, "gru": 3, "lstm": 4, "gpt2": 1}


def forward_flops(arch: str, n_tasks: int) -> float:
    """Multiply-adds × 2 of one network's forward pass on one batch (docs/replication.md,
    "Models")."""
    if arch not in GATES:
        raise ValueError(arch)
    tokens = BATCH * T_STEPS
    readout = 2 * HIDDEN * n_tasks
    if arch == "gpt2":
        e = HIDDEN
        per_token = (
            2 * INPUTS * e
            + 2 * e * 3 * e
            + 2 * e * e
            + 2 * 2 * e * 4 * e
            + 2 * 2 * T_STEPS * e
            + readout
        )  # in, QKV, proj, MLP, attention
    else:
        per_token = 2 * GATES[arch] * (INPUTS * HIDDEN + HIDDEN * HIDDEN) + readout
    return tokens * per_token


def encoder_flops() -> float:
    widths = (DIM, *ENCODER_WIDTHS)
    per = sum(2 * a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    return BATCH * STIM_STEPS * per


def train_step_flops(arch: str, n_tasks: int) -> float:
    """FLOPs of one training step of one network on one batch: the forward pass, the backward
    pass at twice the forward (each matmul's weight gradient and input gradient) less the input
    layer's input gradient, which is never computed (the inputs need none), and the frozen
    encoder's forward on the stimulus steps. ``tests/test_benchmarks.py`` checks it against
    torch's FlopCounterMode on the engine's own models (within 3 %: the recurrences skip the
    matmul with the zero initial state)."""
    input_gradient = BATCH * T_STEPS * 2 * INPUTS * GATES[arch] * HIDDEN
    return 3 * forward_flops(arch, n_tasks) - input_gradient + encoder_flops()


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (a CUDA timing must not stop before its kernels)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(
    threads: int, size: int = 2048, reps: int = 3, rounds: int = 5, device: str = "cpu"
) -> float:
    """Measured float32 GFLOP/s of a large square matmul (the machine's practical peak): the
    best of ``rounds`` timings of ``reps`` products. The best, not the mean, because a VM's rate
    dips now and then (one 6-product timing read 108 GFLOP/s between two of 130), and a low
    peak would flatter every "of peak" figure; the best is the conservative choice."""
    torch.set_num_threads(threads)
    dev = torch.device(device)
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=g).to(dev) for _ in range(2))
    torch.mm(a, b)
    sync(dev)
    best = 0.0
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b)
        sync(dev)
        best = max(best, 2 * size**3 * reps / (time.perf_counter() - t) / 1e9)
    return best


class ReferenceRNN(nn.Module):
    """The authors' leaky RNN (α = 1), one network, unrolled by a Python loop."""

    def __init__(self, n_tasks: int, kind: str):
        super().__init__()
        self.kind = kind
        if kind == "lstm":
            self.rnn = nn.LSTM(INPUTS, HIDDEN, batch_first=True)
        elif kind == "gpt2":
            self.inp = nn.Linear(INPUTS, HIDDEN)
            self.block = nn.TransformerEncoderLayer(
                HIDDEN,
                8,
                4 * HIDDEN,
                dropout=0.1,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            self.ln = nn.LayerNorm(HIDDEN)
        else:
            self.input2h = nn.Linear(INPUTS, HIDDEN)
            self.h2h = nn.Linear(HIDDEN, HIDDEN)
        self.readout = nn.Linear(HIDDEN, n_tasks)

    def forward(self, u):
        if self.kind == "lstm":
            h, _ = self.rnn(u)
        elif self.kind == "gpt2":
            mask = torch.triu(torch.ones(T_STEPS, T_STEPS, dtype=torch.bool, device=u.device), 1)
            h = self.ln(self.block(self.inp(u), src_mask=mask, is_causal=True))
        else:
            r = torch.zeros(u.shape[0], HIDDEN, device=u.device)
            states = []
            for t in range(u.shape[1]):
                r = torch.relu(self.input2h(u[:, t]) + self.h2h(r))
                states.append(r)
            h = torch.stack(states, dim=1)
        return torch.sigmoid(self.readout(h))


def reference_rate(arch: str, n_tasks: int, steps: int, threads: int, device: str = "cpu") -> float:
    """Network-steps/s of the per-network loop (a) on ``device``."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dev = torch.device(device)
    enc = nn.Sequential(
        nn.Linear(DIM, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 40)
    ).requires_grad_(False)
    enc.to(dev)
    kind = {"leaky_rnn": "rnn", "lstm": "lstm", "gpt2": "gpt2"}[arch]
    net = ReferenceRNN(n_tasks, kind).to(dev)
    phi = (torch.arange(n_tasks) + 0.5) * torch.pi / n_tasks
    c = torch.stack([-torch.sin(phi), torch.cos(phi)], 1).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.BCELoss()

    def step():
        x = torch.rand(BATCH, DIM, device=dev) - 0.5
        stim = x[:, None] + 0.2 * torch.randn(BATCH, STIM_STEPS, DIM, device=dev)
        u = torch.zeros(BATCH, T_STEPS, INPUTS, device=dev)
        with torch.no_grad():
            u[:, :, 1:] = enc(torch.zeros(DIM, device=dev))
            u[:, 1:21, 1:] = enc(stim)
        u[:, :21, 0] = 1.0
        target = torch.full((BATCH, T_STEPS, n_tasks), 0.5, device=dev)
        target[:, -1] = (x @ c.T > 0).float()
        loss = loss_fn(net(u), target)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    sync(dev)
    t = time.perf_counter()
    for _ in range(steps):
        step()
    sync(dev)
    return steps / (time.perf_counter() - t)


def engine_rate(
    arch: str, n_tasks: int, k: int, steps: int, threads: int, device: str = "cpu"
) -> float:
    """Network-steps/s of the ensemble engine (b), K networks of ``n_tasks`` tasks, in steady
    state: the engine's own progress log, one line per data block (``DATA_BLOCK`` batches, each
    window drawing its block of trials and encoding it), timed from the end of the first block
    (the warm-up, as the reference loop's first steps) to the end of the last. Setup before the
    loop and saving the model after it are left out, as they are for the reference loop."""
    steps = max(DATA_BLOCK, -(-steps // DATA_BLOCK) * DATA_BLOCK)  # whole blocks
    seeds = list(range(k))
    spec = {
        "architecture": arch,
        "n_tasks": [n_tasks],
        "seeds": seeds,
        "training": {
            "n_batches": DATA_BLOCK + steps,
            "log_every": DATA_BLOCK,
            "checkpoint_every": 10**9,
        },
    }
    exp = ExperimentSpec.from_dict("bench", spec)
    with tempfile.TemporaryDirectory() as tmp:
        ing = Path(tmp) / "ing.pt"
        write_ingredients(exp, str(ing), 64, 64, 0)
        window_ends = []

        def log(msg: str):
            if msg.startswith("step "):  # the end of a block of DATA_BLOCK batches
                window_ends.append(time.perf_counter())

        train_ensemble(
            exp,
            str(ing),
            str(Path(tmp) / "m.pt"),
            str(Path(tmp) / "c.pt"),
            device=device,
            threads=threads,
            log=log,
        )
    return k * steps / (window_ends[-1] - window_ends[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small K and few steps (< 3 min)")
    parser.add_argument("--tiny", action="store_true", help="seconds: that it runs, no timings")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:<index>")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument(
        "--repeats", type=int, default=3, help="timings per row; the median is printed"
    )
    args = parser.parse_args()
    tune_allocator()  # as every workflow command does (disentangle.runtime)
    threads = args.threads
    device = args.device
    n_tasks = 24
    if args.tiny:
        plan = {"leaky_rnn": ([1, 4], 10, 10)}
    elif args.quick:
        plan = {
            "leaky_rnn": ([1, 5, 25, 100], 300, 200),
            "lstm": ([1, 25], 150, 80),
            "gpt2": ([1, 25], 80, 30),
        }
    else:
        plan = {
            "leaky_rnn": ([1, 5, 25, 100, 200], 600, 400),
            "lstm": ([1, 5, 25, 100], 300, 150),
            "gpt2": ([1, 5, 25, 100], 150, 40),
        }
    repeats = 1 if args.tiny else args.repeats
    size = 256 if args.tiny else 2048
    peak = matmul_rate(threads, size=size, device=device)
    where = torch.cuda.get_device_name(device) if device.startswith("cuda") else "CPU"
    print(
        f"machine: {where} ({device}), {torch.get_num_threads()} threads, float32 matmul "
        f"{peak:.1f} GFLOP/s ({size}² torch.mm), torch {torch.__version__}"
    )
    print(
        f"{'arch':<10}{'mode':<12}{'K':>5}{'net-steps/s':>14}{'speed-up':>10}{'GFLOP/s':>10}"
        f"{'of peak':>9}"
    )
    last = None
    for arch, (ks, ref_steps, eng_steps) in plan.items():
        flops = train_step_flops(arch, n_tasks)
        ref = median(
            reference_rate(arch, n_tasks, ref_steps, threads, device) for _ in range(repeats)
        )
        print(
            f"{arch:<10}{'reference':<12}{1:>5}{ref:>14.1f}{1.0:>10.2f}"
            f"{ref * flops / 1e9:>10.2f}{ref * flops / 1e9 / peak:>9.1%}"
        )
        for k in ks:
            rate = median(
                engine_rate(arch, n_tasks, k, eng_steps, threads, device) for _ in range(repeats)
            )
            gflops = rate * flops / 1e9
            print(
                f"{arch:<10}{'ensemble':<12}{k:>5}{rate:>14.1f}{rate / ref:>10.2f}"
                f"{gflops:>10.2f}{gflops / peak:>9.1%}"
            )
            if arch == "leaky_rnn":
                last = (rate / ref, gflops / peak)
    print(f"speedup={last[0]:.2f} peak_fraction={last[1]:.3f}")


if __name__ == "__main__":
    main()
