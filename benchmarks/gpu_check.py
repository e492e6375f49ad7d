"""The first ten minutes with one GPU: does this workflow run on it, and run the same every time?

Run through ``bash benchmarks/gpu_check.sh`` (``make gpu-check``), which picks the environment's
Python. On ``--device`` (CUDA by default) it checks, each check timed and recorded:

- ``environment``: torch and its CUDA and cuDNN builds, the GPU's name, memory and capability, the
  driver (``nvidia-smi``), the visible devices, and that ``training.resolve_device`` accepts the
  device; the deterministic settings jobs run under (``provenance.configure_determinism``).
- ``reruns``: the same ensemble trained twice ends with bit-identical weights.
- ``resume``: stopped half-way and resumed, it ends with the uninterrupted run's weights.
- ``member_alone``: a network trained inside the ensemble against the same network trained alone
  (bit for bit on the CPU up to reduction order; the largest difference is recorded).
- ``cpu_vs_device``: the same ensemble trained on the CPU and on the device: the largest weight
  difference and the OOD r² of each (the OOD job on the CPU model and on the device's), their
  largest and median difference (float rounding, amplified by training; informative).
- ``generative``: a β-VAE and an InfoGAN on dSprites trained twice and once stopped and resumed:
  bit-identical weights (cuDNN convolutions under the deterministic settings).
- ``paper_dsprites``: one dSprites model at the paper preset's recipe (β-VAE, Adam lr 10⁻⁴,
  batch 64, config/paper.yaml) timed over ``paper_steps`` steps after a warm-up, and the time of
  the paper's 3·10⁵ steps projected from the rate (informative; the check passes when it ran).
- ``device_tests``: ``pytest tests/test_devices.py``, whose CUDA cases run where a GPU is visible.
- ``smoke_preset``: the whole smoke preset on the device in a scratch copy of the repository
  (``snakemake --profile profiles/smoke --config device=<device> --resources gpu=1``), and that
  its tables record the device.
- ``throughput``: ``benchmarks/train_throughput.py --quick --device <device>``.

It writes one summary, ``benchmarks/runs/gpu_check-<date>.json`` (``--out``), prints a table of
the checks and exits 0 when all passed, 1 otherwise. ``--dry-run`` (``DEVICE=cpu``) runs the same
checks on the CPU with tiny sizes in about a minute, the smoke preset as a Snakemake dry run
(``-n``) and the throughput benchmark with ``--tiny``: that the script itself works
(``tests/test_benchmarks.py``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "results", ".snakemake", "__pycache__", "*.egg-info",
    ".pytest_cache", ".ruff_cache", "*.pdf", "*.png", "report.html",
)  # fmt: skip


def quiet(_msg: str) -> None:
    pass


def sizes(dry_run: bool) -> dict:
    """The experiment and generative run of the checks: tiny on a dry run, small otherwise."""
    if dry_run:
        training = {"n_batches": 40, "batch_size": 8, "checkpoint_every": 20, "log_every": 20}
        return {"hidden_size": 16, "n_tasks": [2, 6], "training": training, "gen_steps": 4,
                "gen_batch": 8, "eval": (256, 128), "paper_steps": 4}  # fmt: skip
    training = {"n_batches": 400, "batch_size": 16, "checkpoint_every": 200, "log_every": 100}
    return {"hidden_size": 64, "n_tasks": [2, 24], "training": training, "gen_steps": 40,
            "gen_batch": 64, "eval": (4096, 2048), "paper_steps": 2000}  # fmt: skip


#: the paper preset's dSprites recipe (config/paper.yaml: dlib's 3·10⁵ steps of 64 at lr 10⁻⁴)
PAPER_DSPRITES = {"steps": 300_000, "batch_size": 64, "spec": {"method": "beta_vae", "seed": 0,
                                                                "lr": 1e-4, "beta": 4}}  # fmt: skip


def experiment(name: str, s: dict, n_tasks=None, seeds=(0, 1)):
    from disentangle.experiment import ExperimentSpec

    spec = {
        "hidden_size": s["hidden_size"],
        "n_tasks": list(n_tasks or s["n_tasks"]),
        "seeds": list(seeds),
        "training": s["training"],
    }
    return ExperimentSpec.from_dict(name, spec)


def max_diff(a: dict, b: dict) -> float:
    """The largest absolute difference between two state dicts (CPU tensors)."""
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


# --------------------------------------------------------------------------------------------
# The checks: each returns a dict with "ok" and what it measured
# --------------------------------------------------------------------------------------------


def check_environment(device: str, work: Path, s: dict) -> dict:
    import torch

    from disentangle.provenance import configure_determinism, device_name
    from disentangle.training import resolve_device

    messages: list[str] = []
    dev = resolve_device(device, messages.append)
    info = {
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "cuda_available": torch.cuda.is_available(),
        "device_count": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "device": str(dev),
        "device_name": device_name(dev),
        "resolve_device_log": messages,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_threads": torch.get_num_threads(),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "determinism": configure_determinism(dev),
    }
    if dev.type == "cuda":
        props = torch.cuda.get_device_properties(dev)
        info["capability"] = f"{props.major}.{props.minor}"
        info["memory_gib"] = round(props.total_memory / 2**30, 1)
    smi = shutil.which("nvidia-smi")
    if smi:
        query = "--query-gpu=name,driver_version,memory.total,compute_cap"
        out = subprocess.run([smi, query, "--format=csv,noheader"], capture_output=True, text=True)
        info["nvidia_smi"] = out.stdout.strip() or out.stderr.strip()
    else:
        info["nvidia_smi"] = None
    return {"ok": dev.type == torch.device(device).type, **info}


def git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def train(exp, ingredients: Path, out: Path, device: str, **kw) -> dict | None:
    from disentangle.training import train_ensemble

    return train_ensemble(
        exp, str(ingredients), str(out), str(out) + ".ckpt", device=device, log=quiet, **kw
    )


def ingredients_of(exp, work: Path, s: dict) -> Path:
    from disentangle.data.ingredients import write_ingredients

    path = work / f"{exp.name}.ingredients.pt"
    if not path.exists():
        write_ingredients(exp, str(path), *s["eval"], 0)
    return path


def check_reruns(device: str, work: Path, s: dict) -> dict:
    exp = experiment("check", s)
    ing = ingredients_of(exp, work, s)
    a = train(exp, ing, work / "run_a.pt", device)
    b = train(exp, ing, work / "run_b.pt", device)
    diff = max_diff(a["model"], b["model"])
    return {"ok": diff == 0.0, "max_abs_diff": diff, "networks": len(a["members"])}


def reference_run(device: str, work: Path, s: dict) -> dict:
    """The check ensemble trained on the device (``reruns``' first run; trained here if that
    check was skipped)."""
    import torch

    path = work / "run_a.pt"
    if not path.exists():
        exp = experiment("check", s)
        train(exp, ingredients_of(exp, work, s), path, device)
    return torch.load(path, weights_only=True)


def check_resume(device: str, work: Path, s: dict) -> dict:
    exp = experiment("check", s)
    ing = ingredients_of(exp, work, s)
    half = exp.training.n_batches // 2
    out = work / "resumed.pt"
    train(exp, ing, out, device, stop_after=half)
    resumed = train(exp, ing, out, device)
    full = reference_run(device, work, s)
    diff = max_diff(resumed["model"], full["model"])
    return {"ok": diff == 0.0, "max_abs_diff": diff, "stopped_at": half,
            "resumed_from": resumed["info"]["resumed_from"]}  # fmt: skip


def check_member_alone(device: str, work: Path, s: dict) -> dict:
    n_tasks = max(s["n_tasks"])
    alone = experiment("alone", s, n_tasks=[n_tasks], seeds=[1])
    r_alone = train(alone, ingredients_of(alone, work, s), work / "alone.pt", device)
    ens = reference_run(device, work, s)
    i = [tuple(m) for m in ens["members"]].index((n_tasks, 1))
    member = {k: v[i] for k, v in ens["model"].items()}
    single = {k: v[0] for k, v in r_alone["model"].items()}
    diff = max_diff(member, single)
    return {"ok": diff <= 1e-4, "max_abs_diff": diff, "bitwise": diff == 0.0,
            "tolerance": 1e-4}  # fmt: skip


def ood_values(model: Path, ingredients: Path, device: str, out: Path) -> list[float]:
    import pandas as pd

    from disentangle.cli import main

    settings = {"decoder": "ridge", "n_fits": 1, "ridge": {"penalty": 1e-6}}
    main(["ood", "--model", str(model), "--ingredients", str(ingredients), "--settings",
          json.dumps(settings), "--out", str(out), "--device", device])  # fmt: skip
    df = pd.read_parquet(out)
    df = df[df.metric == "ood_r2"].sort_values(["n_tasks", "seed", "fold", "fit"])
    return [float(v) for v in df["value"]]


def check_cpu_vs_device(device: str, work: Path, s: dict) -> dict:
    exp = experiment("check", s)
    ing = ingredients_of(exp, work, s)
    cpu = train(exp, ing, work / "cpu.pt", "cpu")
    dev = reference_run(device, work, s)
    weights = max_diff(cpu["model"], dev["model"])
    r2_cpu = ood_values(work / "cpu.pt", ing, "cpu", work / "ood_cpu.parquet")
    r2_dev = ood_values(work / "run_a.pt", ing, device, work / "ood_dev.parquet")
    deltas = [abs(a - b) for a, b in zip(r2_cpu, r2_dev, strict=True)]
    return {
        "ok": max(deltas) <= 0.05,
        "max_abs_weight_diff": weights,
        "ood_r2_median_cpu": statistics.median(r2_cpu),
        "ood_r2_median_device": statistics.median(r2_dev),
        "ood_r2_max_abs_diff": max(deltas),
        "ood_r2_median_abs_diff": statistics.median(deltas),
        "tolerance": 0.05,
    }


def check_generative(device: str, work: Path, s: dict) -> dict:
    from disentangle.generative.sources import DSpritesSource
    from disentangle.generative.train import train_generative

    out = {"ok": True}
    for method in ("beta_vae", "infogan"):
        spec = {"method": method, "seed": 0}
        kw = {"batch_size": s["gen_batch"], "device": device, "log": quiet,
              "checkpoint_every": max(1, s["gen_steps"] // 2)}  # fmt: skip
        runs = []
        for name in ("a", "b", "c"):
            path = work / f"{method}-{name}.pt"
            args = (spec, DSpritesSource(), str(path), str(path) + ".ckpt", s["gen_steps"])
            if name == "c":
                train_generative(*args, stop_after=s["gen_steps"] // 2, **kw)
            runs.append(train_generative(*args, **kw))
        rerun = max_diff(runs[0]["model"], runs[1]["model"])
        resume = max_diff(runs[0]["model"], runs[2]["model"])
        out[method] = {"rerun_max_abs_diff": rerun, "resume_max_abs_diff": resume,
                       "adam": runs[0]["info"]["adam"]}  # fmt: skip
        out["ok"] = out["ok"] and rerun == 0.0 and resume == 0.0
    return out


def check_paper_dsprites(device: str, work: Path, s: dict) -> dict:
    """Time one paper-recipe dSprites model (``PAPER_DSPRITES``) over ``paper_steps`` steps after
    a warm-up of a tenth as many, and project the paper preset's 3·10⁵ steps from the rate."""
    from disentangle.generative.sources import DSpritesSource
    from disentangle.generative.train import train_generative

    steps = int(s["paper_steps"])
    warm = max(1, steps // 10)
    spec, batch = PAPER_DSPRITES["spec"], PAPER_DSPRITES["batch_size"]
    kw = {"batch_size": batch, "device": device, "log": quiet, "checkpoint_every": steps + warm}
    path = work / "paper-dsprites.pt"
    t0 = time.perf_counter()
    train_generative(spec, DSpritesSource(), str(path), str(path) + ".ckpt", warm, **kw)
    warm_s = time.perf_counter() - t0
    path.unlink(missing_ok=True)
    Path(str(path) + ".ckpt").unlink(missing_ok=True)
    t0 = time.perf_counter()
    train_generative(spec, DSpritesSource(), str(path), str(path) + ".ckpt", steps, **kw)
    timed = time.perf_counter() - t0
    rate = steps / timed
    return {"ok": True, "spec": spec, "batch_size": batch, "steps_timed": steps,
            "warm_up_steps": warm, "warm_up_seconds": round(warm_s, 1),
            "timed_seconds": round(timed, 1), "steps_per_second": round(rate, 1),
            "projected_hours": round(PAPER_DSPRITES["steps"] / rate / 3600, 2)}  # fmt: skip


def run(cmd: list[str], cwd: Path, timeout: float, env: dict | None = None) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
    return {"rc": proc.returncode, "seconds": round(time.perf_counter() - t0, 1), "tail": tail,
            "command": " ".join(cmd)}  # fmt: skip


def check_device_tests(device: str, work: Path, s: dict) -> dict:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_devices.py"]
    result = run(cmd, REPO, 1800)
    return {"ok": result["rc"] == 0, **result}


def check_smoke_preset(device: str, work: Path, s: dict, dry_run: bool, cores: int) -> dict:
    import pandas as pd

    repo = work / "repo"
    if not repo.exists():
        shutil.copytree(REPO, repo, ignore=IGNORE)
    cmd = [sys.executable, "-m", "snakemake", "--profile", "profiles/smoke", "--config",
           f"device={device}", "--resources", "gpu=1", "--cores", str(cores)]  # fmt: skip
    if dry_run:
        cmd.insert(3, "-n")
    result = run(cmd, repo, 3600)
    out = {"ok": result["rc"] == 0, **result}
    table = repo / "results/smoke/metrics/rnn_main/ood_r2.parquet"
    if not dry_run and table.exists():
        devices = sorted(set(pd.read_parquet(table)["device"]))
        out["ood_r2_devices"] = devices
        out["ok"] = out["ok"] and all(d.split(":")[0] == device.split(":")[0] for d in devices)
    return out


def check_throughput(device: str, work: Path, s: dict, dry_run: bool) -> dict:
    size = "--tiny" if dry_run else "--quick"
    cmd = [sys.executable, str(REPO / "benchmarks/train_throughput.py"), size, "--device", device]
    result = run(cmd, REPO, 1800)
    out = {"ok": result["rc"] == 0, **result}
    last = result["tail"][-1] if result["tail"] else ""
    if last.startswith("speedup="):
        out.update({k: float(v) for k, v in (p.split("=") for p in last.split())})
    return out


# --------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--device", default="cuda", help="cuda, cuda:<index> or cpu (default cuda)")
    ap.add_argument("--dry-run", action="store_true", help="tiny sizes; smoke preset with -n")
    ap.add_argument("--out", help="the summary (default benchmarks/runs/gpu_check-<date>.json)")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="for the smoke run")
    ap.add_argument("--skip", nargs="*", default=[], help="checks to leave out")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()
    dry_run = args.dry_run or args.device == "cpu"
    date = datetime.date.today().isoformat()
    suffix = "-dry-run" if dry_run else ""
    out = Path(args.out or REPO / "benchmarks" / "runs" / f"gpu_check-{date}{suffix}.json")
    s = sizes(dry_run)
    work = Path(tempfile.mkdtemp(prefix="gpu_check-"))
    checks = {
        "environment": lambda: check_environment(args.device, work, s),
        "reruns": lambda: check_reruns(args.device, work, s),
        "resume": lambda: check_resume(args.device, work, s),
        "member_alone": lambda: check_member_alone(args.device, work, s),
        "cpu_vs_device": lambda: check_cpu_vs_device(args.device, work, s),
        "generative": lambda: check_generative(args.device, work, s),
        "paper_dsprites": lambda: check_paper_dsprites(args.device, work, s),
        "device_tests": lambda: check_device_tests(args.device, work, s),
        "smoke_preset": lambda: check_smoke_preset(args.device, work, s, dry_run, args.cores),
        "throughput": lambda: check_throughput(args.device, work, s, dry_run),
    }
    results = {}
    for name, fn in checks.items():
        if name in args.skip:
            continue
        t0 = time.perf_counter()
        try:
            result = fn()
        except BaseException as err:  # a check that crashes is a failed check, not a crash
            if isinstance(err, KeyboardInterrupt):
                raise
            line = traceback.format_exception_only(type(err), err)[-1].strip()
            result = {"ok": False, "error": line}
        result["seconds"] = round(time.perf_counter() - t0, 1)
        results[name] = result
        print(f"{name:<15} {'ok' if result['ok'] else 'FAILED':<7} {result['seconds']:>7.1f} s",
              flush=True)  # fmt: skip
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    summary = {
        "date": date,
        "device": args.device,
        "dry_run": dry_run,
        "ok": all(r["ok"] for r in results.values()),
        "checks": results,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1, sort_keys=True, default=str) + "\n")
    print(f"{'all checks passed' if summary['ok'] else 'SOME CHECKS FAILED'}; summary: {out}")
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
