"""benchmarks/baseline_cost.py: what the baselines, floors and claims cost in a finished run."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from conftest import REPO
from disentangle.jobs.ood import BASELINE_SECONDS


def load_script():
    spec = importlib.util.spec_from_file_location(
        "baseline_cost", REPO / "benchmarks/baseline_cost.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_cost"] = module
    spec.loader.exec_module(module)
    return module


def bench(path, seconds: float):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:01\t1\n")


def test_baselines_inside_ood_jobs_are_counted_once(tmp_path, capsys):
    """A run where the ood jobs write the baselines: their seconds come from the log line the job
    prints, are added once (the ood benchmark already holds them in the total), and the share is
    (baselines + floors + claims) / all job-seconds."""
    cost = load_script()
    assert cost.BASELINE_LINE == BASELINE_SECONDS  # the job's line and the script's agree
    root = tmp_path / "results" / "quick"
    bench(root / "benchmarks/train/a.tsv", 900.0)
    bench(root / "benchmarks/ood_generalisation/a.tsv", 40.0)
    bench(root / "benchmarks/ood_generalisation/b.tsv", 30.0)
    bench(root / "benchmarks/floors/a.tsv", 20.0)
    bench(root / "benchmarks/claims/panel-x.tsv", 10.0)
    logs = root / "logs/ood_generalisation"
    logs.mkdir(parents=True)
    (logs / "a.log").write_text(f"median r²...\n{BASELINE_SECONDS} 12.50\n")
    (logs / "b.log").write_text(f"{BASELINE_SECONDS} 7.50\nother line\n")
    assert cost.baselines_in_ood_jobs(tmp_path, "quick") == (2, 20.0)
    assert cost.main(["--run", str(tmp_path), "--wall-seconds", "500", "--cores", "2"]) == 0
    out = capsys.readouterr().out
    # total 1000 job-s; added 20 (baselines) + 20 (floors) + 10 (claims) = 50 = 5 %
    assert "total job-s 1000; added 50 = 5.00 % of job-s" in out
    assert "added job-s over 2 cores: 25 s = 5.00 % of the wall time 500 s" in out


def test_projection_scales_only_the_re_measured_rules(tmp_path, capsys):
    """A recorded run (baselines 100, floors 50, train 850 job-s) projected with a re-measurement
    that halves the baselines: 50 + 50 added of 950 = 10.53 %; a rule without both sides is an
    error naming it."""
    cost = load_script()
    record, reruns = tmp_path / "cost.csv", tmp_path / "rerun.csv"
    record.write_text(
        "run_id,preset,rule,jobs,job_s,added,total_job_s,wall_s,cores\n"
        "r1,quick,baselines,2,100,True,1000,500,2\n"
        "r1,quick,floors,1,50,True,1000,500,2\n"
        "r1,quick,train,4,850,False,1000,500,2\n"
        "r0,quick,train,4,999,False,999,500,2\n"
    )
    reruns.write_text(
        "rerun_id,preset,rule,code,commit,jobs,job_s,parallel,note\n"
        "x,quick,baselines,before,a,2,40,2,\n"
        "x,quick,baselines,after,b,2,20,2,\n"
        "y,quick,floors,after,b,1,5,1,\n"
    )
    out = cost.project("r1", "x", record, reruns)
    assert out["ratio"] == {"baselines": 0.5}
    assert out["total"] == 950 and out["added"] == 100
    assert round(out["share"], 2) == 10.53
    with pytest.raises(SystemExit, match="'floors'"):
        cost.project("r1", "y", record, reruns)
    with pytest.raises(SystemExit, match="no rows of run 'r9'"):
        cost.project("r9", "x", record, reruns)
