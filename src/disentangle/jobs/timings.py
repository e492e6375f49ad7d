"""The ``timings`` job: job-minutes per rule from a run's benchmark files
(``disentangle.timings``)."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> None:
    from disentangle.timings import read_benchmarks, report

    jobs = read_benchmarks(args.results)
    print(f"{args.results}: {report(jobs, args.cores, args.top)}")
    if args.out:
        jobs.to_csv(args.out, index=False)


def add_parser(sub) -> None:
    p = sub.add_parser("timings", help="job-minutes per rule from a run's benchmark files")
    p.add_argument("results", help="results/<preset> of a finished (or partial) run")
    p.add_argument("--cores", type=int, default=2, help="cores the run had (for utilisation)")
    p.add_argument("--top", type=int, default=10, help="how many of the slowest jobs to list")
    p.add_argument("--out", help="also write the per-job table (CSV)")
    p.set_defaults(func=run)
