"""What the baselines, floors and claims cost, measured on a finished run of a preset.

Reads Snakemake's per-job benchmark files of a run directory
(``results/<preset>/benchmarks/<rule>/*.tsv``, wall seconds of each job) and the run's wall time,
and reports per benchmark folder (a rule, or two for ``claims``) the jobs and job-seconds, and the
share that the claims ledger added (``ADDED``: the floors, each panel's claims and the ledger;
and the baselines) in the job-seconds of the whole run. The baselines table is written inside
each ``ood_generalisation`` job; its seconds are the ones that job's log prints on the
``jobs.ood.BASELINE_SECONDS`` line (runs from before that merge had a ``baselines`` rule of their
own, counted as a folder). The share of job-seconds is what those rules add
to the wall time of a run that keeps its cores busy (a 2-core run of the quick preset does, except
in its last minutes); the script also prints the added job-seconds over the cores as a share of
the measured wall time.

Not separable by rule: the equal-code-size comparison (each network's top-D principal components,
scored inside ``score_networks``); ``--pcs-seconds`` adds a separately measured figure for it.

    python benchmarks/baseline_cost.py --run /path/to/run --preset quick --wall-seconds 5400 \
        --cores 2 --run-id quick-2026-12-06 [--record]

``--record`` appends the rows to ``benchmarks/runs/baseline_cost.csv`` (one row per rule).

``--project RUN_ID --rerun RERUN_ID`` projects a recorded run onto changed code without running
the whole preset again: each rule re-measured before and after the change on one host
(``benchmarks/runs/baseline_cost_rerun.csv``) has its job-seconds in the run scaled by its
after/before ratio; the other rules keep theirs. It prints the projected share.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

#: the benchmark folders (one per rule; ``claims`` holds panel_claims and claims_ledger) of the
#: jobs that the claims ledger added to every run
ADDED = ("baselines", "floors", "claims")
#: the log line of an ``ood`` job that gives its baselines' seconds (``jobs.ood.BASELINE_SECONDS``;
#: kept here as text so that the script runs without the package installed)
BASELINE_LINE = "baselines table computed and written, seconds:"
RECORD = Path(__file__).parent / "runs" / "baseline_cost.csv"
RERUNS = Path(__file__).parent / "runs" / "baseline_cost_rerun.csv"
COLUMNS = ["run_id", "preset", "rule", "jobs", "job_s", "added", "total_job_s", "wall_s", "cores"]


def job_seconds(tsv: Path) -> float:
    """The wall seconds (column ``s``) of one Snakemake benchmark file's last row."""
    with tsv.open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows or "s" not in rows[-1]:
        raise SystemExit(f"{tsv}: not a Snakemake benchmark file (no 's' column)")
    return float(rows[-1]["s"])


def per_rule(run: Path, preset: str) -> dict[str, tuple[int, float]]:
    root = run / "results" / preset / "benchmarks"
    if not root.is_dir():
        raise SystemExit(f"{root}: no benchmark folder; is {run} a finished run of {preset}?")
    out = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(folder.rglob("*.tsv"))
        if files:
            out[folder.name] = (len(files), sum(job_seconds(f) for f in files))
    return out


def baselines_in_ood_jobs(run: Path, preset: str) -> tuple[int, float]:
    """Jobs and seconds of the baselines computed inside ``ood_generalisation`` jobs, from the
    line each such job's log ends its baselines with."""
    logs = sorted((run / "results" / preset / "logs" / "ood_generalisation").glob("*.log"))
    jobs, seconds = 0, 0.0
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(BASELINE_LINE):
                jobs += 1
                seconds += float(line[len(BASELINE_LINE) :].split()[0])
    return jobs, seconds


def project(run_id: str, rerun_id: str, record=RECORD, reruns=RERUNS) -> dict:
    """The run's rows with each re-measured rule scaled by its after/before ratio: a dict with
    per rule (job-s, added), the projected total and added job-s, and the share (percent)."""
    with Path(record).open() as f:
        rows = [r for r in csv.DictReader(f) if r["run_id"] == run_id]
    with Path(reruns).open() as f:
        again = [r for r in csv.DictReader(f) if r["rerun_id"] == rerun_id]
    if not rows:
        raise SystemExit(f"{record}: no rows of run {run_id!r}")
    if not again:
        raise SystemExit(f"{reruns}: no rows of rerun {rerun_id!r}")
    ratio = {}
    for rule in {r["rule"] for r in again}:
        sides = {r["code"]: float(r["job_s"]) for r in again if r["rule"] == rule}
        if set(sides) != {"before", "after"}:
            raise SystemExit(
                f"{reruns}: rule {rule!r} of {rerun_id} needs a before and an after row"
            )
        ratio[rule] = sides["after"] / sides["before"]
    rules = {
        r["rule"]: (float(r["job_s"]) * ratio.get(r["rule"], 1.0), r["added"] == "True")
        for r in rows
    }
    total = sum(s for s, _ in rules.values())
    added = sum(s for s, a in rules.values() if a)
    return {"rules": rules, "ratio": ratio, "total": total, "added": added,
            "share": 100 * added / total}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, help="the run's repository directory")
    p.add_argument("--project", metavar="RUN_ID", help="project a recorded run (see above)")
    p.add_argument("--rerun", metavar="RERUN_ID", help="the re-measurement to project it with")
    p.add_argument("--preset", default="quick")
    p.add_argument("--wall-seconds", type=float, help="the run's wall time")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--pcs-seconds", type=float, default=0.0,
                   help="the top-D PCs' share of score_networks, measured separately")  # fmt: skip
    p.add_argument("--run-id", default="")
    p.add_argument("--record", action="store_true")
    args = p.parse_args(argv)
    if args.project:
        if not args.rerun:
            p.error("--project needs --rerun")
        out = project(args.project, args.rerun)
        for rule, ratio in sorted(out["ratio"].items()):
            print(f"{rule:<22} after/before {ratio:.3f}")
        print(f"projected total job-s {out['total']:.0f}; added {out['added']:.0f} = "
              f"{out['share']:.2f} % of job-s")  # fmt: skip
        return 0
    if args.run is None or args.wall_seconds is None:
        p.error("--run and --wall-seconds are required (or --project with --rerun)")
    rules = per_rule(args.run, args.preset)
    total = sum(s for _, s in rules.values())  # the ood jobs' benchmarks hold their baselines
    inside = baselines_in_ood_jobs(args.run, args.preset)
    if inside[0] and "baselines" not in rules:
        rules["baselines"] = inside
    added = sum(rules[r][1] for r in ADDED if r in rules) + args.pcs_seconds
    print(f"{'rule':<22}{'jobs':>6}{'job-s':>10}")
    for rule, (n, s) in sorted(rules.items(), key=lambda kv: -kv[1][1]):
        mark = " (added)" if rule in ADDED else ""
        print(f"{rule:<22}{n:>6}{s:>10.0f}{mark}")
    if args.pcs_seconds:
        print(f"{'top-D PCs (separate)':<22}{'':>6}{args.pcs_seconds:>10.0f} (added)")
    print(f"total job-s {total:.0f}; added {added:.0f} = {100 * added / total:.2f} % of job-s")
    spread = added / args.cores
    print(
        f"added job-s over {args.cores} cores: {spread:.0f} s = "
        f"{100 * spread / args.wall_seconds:.2f} % of the wall time {args.wall_seconds:.0f} s"
    )
    if args.record:
        new = not RECORD.exists()
        with RECORD.open("a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS)
            if new:
                w.writeheader()
            for rule, (n, s) in sorted(rules.items()):
                w.writerow({"run_id": args.run_id, "preset": args.preset, "rule": rule,
                            "jobs": n, "job_s": round(s, 1), "added": rule in ADDED,
                            "total_job_s": round(total, 1), "wall_s": round(args.wall_seconds),
                            "cores": args.cores})  # fmt: skip
            if args.pcs_seconds:
                w.writerow({"run_id": args.run_id, "preset": args.preset,
                            "rule": "score_networks (top-D PCs)", "jobs": "",
                            "job_s": args.pcs_seconds, "added": True,
                            "total_job_s": round(total, 1), "wall_s": round(args.wall_seconds),
                            "cores": args.cores})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
