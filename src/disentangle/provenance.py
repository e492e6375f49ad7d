"""Provenance sidecars and the deterministic settings of a run.

``write_sidecar(path, **extra)`` writes ``<path>.provenance.json`` next to a model or figure: the
git commit, package versions, Python and platform, the device (and CUDA/cuDNN versions, GPU name),
the determinism settings in force, the thread count, and whatever the caller adds (seeds, spec
hash, preset, and ``inputs``: the path and verified SHA-256 of each file the artefact was built
from, as ``load_ingredients`` returned it, so that a model names the exact bytes it was trained
on). No timestamps, so that two runs of the same commit on the same machine write identical files.

``configure_determinism(device)``: on CUDA, set ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` (needed by
deterministic cuBLAS; set before the first cuBLAS call, which every job's set-up precedes), turn
TF32 off for matmuls and convolutions (full float32, as on the CPU), turn cuDNN autotuning off and
make torch use deterministic algorithms strictly: an op without a deterministic CUDA
implementation raises instead of warning (``warn_only=False``). The one such op on the training
path, ``torch.cumsum`` of the free-RT targets, has a deterministic replacement
(``tasks.evidence.running_sum``). On the CPU results are deterministic for a fixed thread count and
nothing is changed (so CPU results stay what they were). No mixed precision is used anywhere:
these networks are tiny and latency bound, so it would change results for no gain.

``device_columns(device)``: what every table of a job that ran a model records about where it ran
(``device``, ``device_name``, ``determinism``); the trainers write the same into the model file's
``info`` and its sidecar.

torch is imported only where a sidecar records a device: a figure's sidecar (``device=None``) has
no device or determinism block and does not load torch, which took ~3.5 s of each panel job's
~14 s on the 2-vCPU host (30 panel jobs in every DAG).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from typing import TYPE_CHECKING

from disentangle.io import atomic_write

if TYPE_CHECKING:
    import torch

PACKAGES = (
    "torch",
    "numpy",
    "pandas",
    "scikit-learn",
    "matplotlib",
    "seaborn",
    "snakemake",
    "papermill",
    "disentangle",
)


def configure_determinism(device: torch.device | str) -> dict:
    """Deterministic settings for ``device``; returns what was set (for the sidecar)."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=False)
    return determinism_settings()


def determinism_settings() -> dict:
    import torch

    return {
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "deterministic_warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "mixed_precision": False,
        "threads": torch.get_num_threads(),
    }


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else the machine type."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def device_name(device: torch.device | str) -> str:
    """What ``device`` is: the GPU's name (``torch.cuda.get_device_name``) or the CPU's."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        return cpu_name()
    return device.type


def device_columns(device: torch.device | str) -> dict:
    """The columns every table of a job that ran a model carries: ``device`` (``cpu``,
    ``cuda:0``), ``device_name`` (the GPU's or CPU's model) and ``determinism`` (the settings in
    force, ``determinism_settings``, as compact JSON). Call after ``configure_determinism``."""
    import torch

    device = torch.device(device)
    settings = json.dumps(determinism_settings(), sort_keys=True, separators=(",", ":"))
    return {"device": str(device), "device_name": device_name(device), "determinism": settings}


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def collect(device: torch.device | str | None = "cpu", **extra) -> dict:
    """Everything the sidecar records, as a JSON-ready dict; with ``device=None`` (a figure) no
    device, determinism or CUDA entries, and torch is not imported."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    info = {
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": versions,
    }
    if device is None:
        info.update(extra)
        return info
    import torch

    device = torch.device(device)
    info["device"] = str(device)
    info["device_name"] = device_name(device)
    info["determinism"] = determinism_settings()
    if device.type == "cuda":
        info["cuda"] = {
            "version": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
            "gpu": torch.cuda.get_device_name(device),
        }
    info.update(extra)
    return info


def write_sidecar(
    path: str | os.PathLike, device: torch.device | str | None = "cpu", **extra
) -> None:
    """Write ``<path>.provenance.json`` (atomically, keys sorted, no timestamps)."""
    text = json.dumps(collect(device, **extra), indent=1, sort_keys=True, default=str) + "\n"

    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            f.write(text)

    atomic_write(f"{os.fspath(path)}.provenance.json", write)
