"""The throughput benchmark's FLOP model (benchmarks/train_throughput.py) against a count.

GFLOP/s and "of peak" in docs/performance.md and benchmarks/runs/ divide an analytic FLOP count
of one training step by the measured time; here that count is checked against torch's
FlopCounterMode running one forward + backward of each architecture's ensemble, its read-out
and the frozen encoder.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from disentangle.models import Readout, architecture
from disentangle.tasks.encoder import MixingEncoder, init_encoder_member

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "train_throughput.py"


@pytest.fixture(scope="module")
def tt():
    """benchmarks/train_throughput.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("train_throughput", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _baddbmm_inplace_flops(self_shape, a_shape, b_shape, *args, out_shape=None, **kwargs):
    """FlopCounterMode counts out-of-place baddbmm only; ReluRecurrence steps with baddbmm_."""
    batch, m, k = a_shape
    return 2 * batch * m * k * b_shape[-1]


@pytest.mark.parametrize("arch", ["leaky_rnn", "nonleaky_rnn", "lstm", "gru", "gpt2"])
def test_train_step_flops_match_a_count(tt, arch):
    k, n_tasks = 2, 24
    g = torch.Generator().manual_seed(0)
    cls = architecture(arch)
    model = cls.from_members([cls.init_member(tt.INPUTS, tt.HIDDEN, g) for _ in range(k)])
    readout = Readout.from_members([Readout.init_member(tt.HIDDEN, n_tasks, g) for _ in range(k)])
    encoder = MixingEncoder.from_members([init_encoder_member(tt.DIM, s) for s in range(k)])
    x = torch.rand(k, tt.BATCH, tt.STIM_STEPS, tt.DIM) - 0.5
    u = torch.randn(k, tt.BATCH, tt.T_STEPS, tt.INPUTS)
    mapping = {torch.ops.aten.baddbmm_: _baddbmm_inplace_flops}
    with FlopCounterMode(display=False, custom_mapping=mapping) as counter:
        encoder(x)
        readout(model(u)).sum().backward()
    counted = counter.get_total_flops() / k
    assert counted == pytest.approx(tt.train_step_flops(arch, n_tasks), rel=0.03)
    # the encoder is a third of the leaky RNN's step: dropping it would fail the check
    assert tt.train_step_flops(arch, n_tasks) - tt.encoder_flops() < 0.97 * counted


def test_paper_estimate_per_panel_counts_each_ensemble_once():
    """``paper_estimate.py --per-panel`` (uncalibrated, so no timing): a panel's training time is
    the sum of the ensembles it reads, each once; `all` is the whole preset's total; the paper's
    panels train no generative model."""
    import re
    import subprocess
    import sys

    script = BENCH.parent / "paper_estimate.py"
    out = subprocess.run(
        [sys.executable, str(script), "--no-calibrate", "--per-panel"],
        capture_output=True,
        text=True,
        check=True,
        cwd=BENCH.parents[1],
    ).stdout
    head, _, tail = out.partition("panel / target")
    per_model = {}
    for line in head.splitlines():
        parts = line.split()
        if len(parts) == 7 and parts[2].isdigit():
            per_model[parts[0]] = float(parts[5])
    total = float(re.search(r"CPU ([\d.]+) core-hours", head).group(1))
    panels = {}
    for line in tail.splitlines()[1:]:
        parts = line.split()
        if len(parts) == 4 and parts[1].isdigit():
            panels[parts[0]] = (int(parts[1]), float(parts[2]))
    assert panels["fig3a"] == (1, pytest.approx(per_model["rnn_main"], abs=0.01))
    assert panels["fig2-task"] == (0, 0.0)  # drawn from the ingredients: nothing to train
    fig3b = ["rnn_main", "rnn_nonleaky", "lstm", "gpt2", "gru"]
    assert panels["fig3b"] == (5, pytest.approx(sum(per_model[n] for n in fig3b), abs=0.03))
    assert panels["all"] == (len(per_model), pytest.approx(total, abs=0.1))
    multitask = [n for n in per_model if not re.search(r"-s\d+$", n)]
    assert panels["paper_panels"][1] <= sum(per_model[n] for n in multitask) + 0.05
    assert panels["methods_panels"][1] > 10 * panels["paper_panels"][1]  # the dSprites models


def test_gpu_check_dry_run_passes_on_the_cpu(tmp_path):
    """``bash benchmarks/gpu_check.sh --dry-run``: every check of the GPU check on the CPU at
    tiny sizes (the smoke preset as a dry run), one summary file, exit status 0 (~40 s)."""
    import json
    import os
    import subprocess
    import sys

    out = tmp_path / "gpu_check.json"
    script = BENCH.parent / "gpu_check.sh"
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(
        ["bash", str(script), "--dry-run", "--out", str(out), "--cores", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(out.read_text())
    assert summary["ok"] and summary["dry_run"] and summary["device"] == "cpu"
    expected = {"environment", "reruns", "resume", "member_alone", "cpu_vs_device",
                "generative", "paper_dsprites", "device_tests", "smoke_preset",
                "throughput"}  # fmt: skip
    assert set(summary["checks"]) == expected
    paper = summary["checks"]["paper_dsprites"]  # the paper recipe, timed and projected
    assert paper["spec"]["lr"] == 1e-4 and paper["batch_size"] == 64
    assert paper["projected_hours"] > 0 and paper["steps_timed"] == 4
    assert summary["checks"]["reruns"]["max_abs_diff"] == 0.0
    assert summary["checks"]["resume"]["max_abs_diff"] == 0.0
