"""Where a workflow run spent its time: the per-job benchmark files Snakemake writes.

Every rule declares ``benchmark: results/<preset>/benchmarks/<rule>/<job>.tsv``; Snakemake writes
one row per job there (wall seconds ``s``, ``cpu_time``, ``max_rss`` in MB, …). This module reads
them into one tidy table (one row per job) and sums them per rule, so the time a preset takes, and
which rules take it, is a measurement anyone can repeat:

    python -m disentangle timings results/quick --cores 2

The span of the run (first start to last end) is taken from the files' modification times (a
benchmark file is written when its job ends; start = end − s). It is meaningful for the run that
wrote the files on this file system, not after the files were copied or some jobs were rerun.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = ["rule", "job", "s", "cpu_time", "max_rss", "end"]


def read_benchmarks(root: str | Path) -> pd.DataFrame:
    """One row per job from ``<root>/benchmarks/<rule>/<job>.tsv`` (root: results/<preset>).

    Columns: rule, job, s (wall seconds), cpu_time (seconds, NaN where not measured), max_rss
    (MB), end (POSIX time the file was written)."""
    base = Path(root) / "benchmarks"
    if not base.is_dir():
        raise FileNotFoundError(
            f"{base}: no benchmark files (run the workflow first; every rule writes one per job)"
        )
    rows = []
    for path in sorted(base.glob("*/*.tsv")):
        table = pd.read_csv(path, sep="\t")
        if table.empty or "s" not in table:
            raise ValueError(f"{path}: not a Snakemake benchmark file (no 's' column)")
        last = table.iloc[-1]  # with `repeat(...)` the last repetition; one row otherwise
        rows.append(
            {
                "rule": path.parent.name,
                "job": path.stem,
                "s": float(last["s"]),
                "cpu_time": pd.to_numeric(last.get("cpu_time"), errors="coerce"),
                "max_rss": pd.to_numeric(last.get("max_rss"), errors="coerce"),
                "end": path.stat().st_mtime,
            }
        )
    if not rows:
        raise FileNotFoundError(f"{base}: no benchmark files under it")
    return pd.DataFrame(rows, columns=COLUMNS)


def _summary(jobs: pd.DataFrame) -> pd.Series:
    return pd.Series(
        {
            "jobs": len(jobs),
            "job_minutes": jobs["s"].sum() / 60,
            "cpu_minutes": jobs["cpu_time"].sum(min_count=1) / 60,
            "longest_job_min": jobs["s"].max() / 60,
            "max_rss_mb": jobs["max_rss"].max(),
        }
    )


def per_rule(jobs: pd.DataFrame) -> pd.DataFrame:
    """Jobs, job-minutes (sum of wall times), CPU minutes and the largest resident memory per
    rule, the most expensive rule first, with a total row."""
    rules = [_summary(group).rename(rule) for rule, group in jobs.groupby("rule")]
    table = pd.DataFrame(rules).sort_values("job_minutes", ascending=False)
    table.loc["total"] = _summary(jobs)
    return table.astype({"jobs": int}).rename_axis("rule")


def span(jobs: pd.DataFrame, cores: int) -> dict[str, float]:
    """Wall span of the run (first start to last end, minutes), the job-minutes, and the share of
    ``cores`` × span that jobs kept busy."""
    if cores < 1:
        raise ValueError(f"cores must be ≥ 1, got {cores}")
    start = (jobs["end"] - jobs["s"]).min()
    wall = (jobs["end"].max() - start) / 60
    busy = jobs["s"].sum() / 60
    return {
        "wall_minutes": wall,
        "job_minutes": busy,
        "utilisation": busy / (cores * wall) if wall > 0 else float("nan"),
    }


def report(jobs: pd.DataFrame, cores: int, top: int = 10) -> str:
    """The text `python -m disentangle timings` prints, from ``read_benchmarks``' table."""
    lines = [f"{len(jobs)} jobs", "", per_rule(jobs).round(2).to_string(), ""]
    slow = jobs.sort_values("s", ascending=False).head(top)
    lines.append(f"slowest {len(slow)} jobs (minutes):")
    lines += [f"  {r.rule:20s} {r.job:40s} {r.s / 60:7.2f}" for r in slow.itertuples()]
    s = span(jobs, cores)
    lines += [
        "",
        f"span {s['wall_minutes']:.1f} min (file times), {s['job_minutes']:.1f} job-minutes, "
        f"{100 * s['utilisation']:.0f} % of {cores} cores busy",
    ]
    return "\n".join(lines)
