"""disentangle.timings: Snakemake benchmark files summed per rule, on files with known values."""

from __future__ import annotations

import os

import pytest

from disentangle.cli import main
from disentangle.timings import per_rule, read_benchmarks, span

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write(root, rule, job, seconds, end, rss=100.0, cpu="-"):
    path = root / "benchmarks" / rule / f"{job}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:00\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")
    os.utime(path, (end, end))


@pytest.fixture
def run(tmp_path):
    # two cores from t = 1000: train a (0-600 s) and train b (0-300 s), then ood a (300-360)
    # and panel (600-630); core 2 idles 360-600 and 600-630 of the 630 s span
    write(tmp_path, "train", "a", 600.0, 1600, rss=900.0, cpu=590.5)
    write(tmp_path, "train", "b", 300.0, 1300, rss=400.0, cpu=290.0)
    write(tmp_path, "ood_generalisation", "a", 60.0, 1360)
    write(tmp_path, "panel", "fig3a", 30.0, 1630)
    return tmp_path


def test_per_rule_sums_and_total(run):
    jobs = read_benchmarks(run)
    assert len(jobs) == 4 and set(jobs.rule) == {"train", "ood_generalisation", "panel"}
    table = per_rule(jobs)
    assert list(table.index) == ["train", "ood_generalisation", "panel", "total"]
    assert table.loc["train", "jobs"] == 2
    assert table.loc["train", "job_minutes"] == pytest.approx(15.0)
    assert table.loc["train", "cpu_minutes"] == pytest.approx(880.5 / 60)
    assert table.loc["train", "longest_job_min"] == pytest.approx(10.0)
    assert table.loc["train", "max_rss_mb"] == 900.0
    assert table.loc["total", "job_minutes"] == pytest.approx(16.5)
    assert table.loc["total", "jobs"] == 4


def test_span_and_utilisation(run):
    s = span(read_benchmarks(run), cores=2)
    assert s["wall_minutes"] == pytest.approx(10.5)
    assert s["job_minutes"] == pytest.approx(16.5)
    assert s["utilisation"] == pytest.approx(990 / 1260)
    with pytest.raises(ValueError, match="cores"):
        span(read_benchmarks(run), cores=0)


def test_cli_prints_the_summary_and_writes_the_job_table(run, tmp_path, capsys):
    out = tmp_path / "jobs.csv"
    main(["timings", str(run), "--cores", "2", "--out", str(out)])
    text = capsys.readouterr().out
    assert "16.5 job-minutes" in text and "79 % of 2 cores busy" in text
    assert out.read_text().count("\n") == 5  # header + 4 jobs


def test_missing_or_foreign_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="benchmarks"):
        read_benchmarks(tmp_path)
    bad = tmp_path / "benchmarks" / "train" / "x.tsv"
    bad.parent.mkdir(parents=True)
    bad.write_text("seconds\n1\n")
    with pytest.raises(ValueError, match="x.tsv"):
        read_benchmarks(tmp_path)
