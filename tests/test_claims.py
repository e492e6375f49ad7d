"""The claims evaluator on constructed tables with known answers (disentangle.claims)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from disentangle.claims import Claim, ClaimError, evaluate, evaluate_panel, ledger_markdown


def networks(values_by_n: dict[int, list[float]], folds: int = 4) -> pd.DataFrame:
    """An ood_r2-like table: a network per (n_tasks, seed), ``folds`` rows around its value."""
    rows = []
    for n, values in values_by_n.items():
        for seed, v in enumerate(values):
            for fold in range(folds):
                jitter = (fold - (folds - 1) / 2) * 1e-3
                rows.append(
                    {"experiment": "e", "n_tasks": n, "seed": seed, "fold": fold,
                     "metric": "ood_r2", "value": v + jitter}
                )  # fmt: skip
    return pd.DataFrame(rows)


def one(claim: dict, tables: dict) -> dict:
    (row,) = evaluate(Claim.from_dict(claim), tables)
    return row


TREND = {"id": "rises", "statement": "s", "test": "trend", "table": "ood_r2",
         "where": {"metric": "ood_r2"}, "x": "n_tasks"}  # fmt: skip


def test_trend_holds_fails_and_is_inconclusive():
    up = networks({2: [0.60, 0.62, 0.64, 0.61, 0.63], 24: [0.90, 0.91, 0.89, 0.92, 0.90]})
    row = one(TREND, {"ood_r2": up})
    assert row["verdict"] == "holds"
    assert row["value"] == pytest.approx(0.90 - 0.62, abs=1e-9)  # medians of the networks
    assert row["ci_low"] > 0 and row["n_a"] == 5 and row["n_b"] == 5
    down = networks({2: [0.90, 0.91, 0.92], 24: [0.60, 0.61, 0.62]})
    assert one(TREND, {"ood_r2": down})["verdict"] == "fails"
    # overlapping seeds: the interval straddles 0
    mixed = networks({2: [0.60, 0.80, 0.90], 24: [0.65, 0.85, 0.70]})
    assert one(TREND, {"ood_r2": mixed})["verdict"] == "inconclusive"


def test_too_few_networks_is_inconclusive_never_holds():
    clear = networks({2: [0.1, 0.1], 24: [0.9, 0.9]})  # a huge effect, but two seeds
    row = one(TREND, {"ood_r2": clear})
    assert row["verdict"] == "inconclusive"
    assert "too few" in row["note"]
    assert row["value"] == pytest.approx(0.8, abs=1e-9)


def test_threshold_compare_near_and_exact():
    t = networks({24: [0.93, 0.94, 0.95, 0.96]})
    base = pd.DataFrame(
        {"baseline": "integrator", "n_tasks": 0, "seed": [0, 1, 2, 3], "metric": "ood_r2",
         "value": [0.96, 0.965, 0.97, 0.962]}
    )  # fmt: skip
    above = {"id": "a", "statement": "s", "test": "threshold", "table": "ood_r2",
             "where": {"n_tasks": 24}, "threshold": 0.9}  # fmt: skip
    assert one(above, {"ood_r2": t})["verdict"] == "holds"
    assert one({**above, "threshold": 0.99}, {"ood_r2": t})["verdict"] == "fails"
    assert one({**above, "op": "<", "threshold": 0.99}, {"ood_r2": t})["verdict"] == "holds"
    margin = {"id": "m", "statement": "s", "test": "compare",
              "a": {"table": "ood_r2", "where": {"n_tasks": 24}},
              "b": {"table": "baselines", "where": {"baseline": "integrator"}}}  # fmt: skip
    row = one(margin, {"ood_r2": t, "baselines": base})
    assert row["verdict"] == "fails"  # the networks sit below the integrator
    assert row["value"] == pytest.approx(0.945 - 0.9635, abs=1e-9)
    near = {"id": "n", "statement": "s", "test": "near", "table": "ood_r2", "target": 0.945,
            "tol": 0.05}  # fmt: skip
    assert one(near, {"ood_r2": t})["verdict"] == "holds"
    assert one({**near, "target": 0.5}, {"ood_r2": t})["verdict"] == "fails"
    exact = pd.DataFrame({"n_tasks": [2, 3, 6], "metric": "err", "value": [1e-13, 3e-12, 2e-14]})
    check = {"id": "x", "statement": "s", "test": "threshold", "table": "theory", "stat": "max",
             "where": {"metric": "err"}, "op": "<", "threshold": 1e-9, "exact": True}  # fmt: skip
    row = one(check, {"theory": exact})
    assert row["verdict"] == "holds" and row["value"] == pytest.approx(3e-12)
    assert row["ci_low"] == row["ci_high"] == row["value"]
    assert one({**check, "threshold": 1e-12}, {"theory": exact})["verdict"] == "fails"


def test_for_each_and_missing_rows():
    t = pd.concat(
        [
            networks({2: [0.5, 0.52, 0.51], 24: [0.9, 0.91, 0.92]}).assign(architecture="a"),
            networks({2: [0.9, 0.91, 0.92], 24: [0.5, 0.52, 0.51]}).assign(architecture="b"),
        ]
    )
    rows = evaluate(Claim.from_dict({**TREND, "for_each": "architecture"}), {"ood_r2": t})
    assert [(r["claim"], r["verdict"]) for r in rows] == [
        ("rises[a]", "holds"),
        ("rises[b]", "fails"),
    ]
    none = one({**TREND, "where": {"metric": "id_r2"}}, {"ood_r2": t})
    assert none["verdict"] == "inconclusive" and np.isnan(none["value"])


def test_bad_claims_name_the_key():
    with pytest.raises(ClaimError, match="test"):
        Claim.from_dict({"id": "a", "statement": "s", "test": "bigger", "table": "t"})
    with pytest.raises(ClaimError, match="unknown key"):
        Claim.from_dict({**TREND, "treshold": 1})
    with pytest.raises(ClaimError, match="needs 'b'"):
        Claim.from_dict({"id": "a", "statement": "s", "test": "compare", "table": "t"})
    with pytest.raises(ClaimError, match="column 'metrik'"):
        evaluate(
            Claim.from_dict({**TREND, "where": {"metrik": "x"}}), {"ood_r2": networks({2: [0.5]})}
        )
    with pytest.raises(ClaimError, match="not among the panel's tables"):
        evaluate(Claim.from_dict(TREND), {"angles": networks({2: [0.5]})})


def test_panel_ledger_and_markdown():
    t = networks({2: [0.6, 0.62, 0.64], 24: [0.9, 0.91, 0.92]})
    df = evaluate_panel("fig3a", "paper", [TREND], {"ood_r2": t})
    assert list(df.columns)[:3] == ["panel", "section", "claim"]
    text = ledger_markdown(df, "smoke")
    assert "`fig3a`" in text and "holds" in text and "1 claims: 1 holds" in text


def test_correlation_pairs_units_and_near_with_a_reference():
    models = [f"m{i}" for i in range(8)]
    mig = [0.01, 0.05, 0.02, 0.2, 0.15, 0.3, 0.08, 0.25]
    pairs = list(zip(models, mig, strict=True))
    rows = [{"experiment": m, "metric": "mig", "value": v} for m, v in pairs]
    # DCI rises with MIG (a monotone map); "mod" is in reverse rank order
    rows += [{"experiment": m, "metric": "dci", "value": 2 * v + 0.1} for m, v in pairs]
    rows += [{"experiment": m, "metric": "mod", "value": -v} for m, v in pairs]
    scores = pd.DataFrame(rows)
    corr = {"id": "c", "statement": "s", "test": "correlation", "units": ["experiment"],
            "a": {"table": "g", "where": {"metric": "mig"}},
            "b": {"table": "g", "where": {"metric": "dci"}}, "threshold": 0.0}  # fmt: skip
    row = one(corr, {"g": scores})
    assert row["value"] == pytest.approx(1.0) and row["verdict"] == "holds"
    anti = one({**corr, "b": {"table": "g", "where": {"metric": "mod"}}}, {"g": scores})
    assert anti["value"] == pytest.approx(-1.0) and anti["verdict"] == "fails"
    t = networks({24: [0.93, 0.94, 0.95]})
    ref = networks({24: [0.95, 0.95, 0.96]})
    near = {"id": "n", "statement": "s", "test": "near", "target": 0.0, "tol": 0.05,
            "a": {"table": "ood_r2", "where": {}}, "b": {"table": "ref", "where": {}}}  # fmt: skip
    row = one(near, {"ood_r2": t, "ref": ref})
    assert row["value"] == pytest.approx(-0.01, abs=1e-9) and row["verdict"] == "holds"


def test_where_compares_columns():
    table = pd.DataFrame(
        {"dim": [2, 2, 6, 6], "n_tasks": [3, 1, 12, 3], "metric": "err",
         "value": [1e-13, 0.4, 2e-13, 0.3]}
    )  # fmt: skip
    full = {"id": "f", "statement": "s", "test": "threshold", "table": "t", "stat": "max",
            "where": {"n_tasks": {">=": "dim"}}, "op": "<", "threshold": 1e-9,
            "exact": True}  # fmt: skip
    row = one(full, {"t": table})
    assert row["verdict"] == "holds" and row["value"] == pytest.approx(2e-13)
    assert row["statistic"] == "max(t[n_tasks>=dim])"
    low = one({**full, "where": {"n_tasks": {"<": "dim"}}, "stat": "min"}, {"t": table})
    assert low["value"] == pytest.approx(0.3) and low["verdict"] == "fails"


def test_spread_of_seeds_against_the_hyperparameter():
    # four seeds per β: the seeds scatter by ~0.1, the β means differ by 0.5 (or not at all)
    noise = [-0.15, -0.05, 0.05, 0.15]
    rows = [
        {"model": f"b{beta}-s{i}", "seed": i, "swept_value": beta, "metric": "mig",
         "value": mean + e}
        for beta, mean in ((1, 0.2), (4, 0.7))
        for i, e in enumerate(noise)
    ]  # fmt: skip
    claim = {"id": "s", "statement": "s", "test": "spread", "table": "g",
             "where": {"metric": "mig"}, "groups": "swept_value"}  # fmt: skip
    apart = one(claim, {"g": pd.DataFrame(rows)})
    assert apart["verdict"] == "fails"  # the hyperparameter moves the score more
    sd_within = float(np.std(noise, ddof=1))
    assert apart["value"] == pytest.approx(sd_within - np.std([0.2, 0.7], ddof=1))
    same = pd.DataFrame(rows).assign(value=lambda d: d.value - 0.5 * (d.swept_value == 4))
    assert one(claim, {"g": same})["value"] == pytest.approx(sd_within)


def test_publish_check_fails_when_the_ledger_changes(tmp_path):
    """publish-results --check regenerates from the published ledger and refuses a stale page."""
    from disentangle.cli import main

    (tmp_path / "config").mkdir()
    (tmp_path / "config/config.yaml").write_text("panels: {fig3a: {}, fig3b: {}}\n")
    (tmp_path / "README.md").write_text(
        "intro\n<!-- results:begin (generated by `python -m disentangle publish-results`) -->\n"
        "old\n<!-- results:end -->\nrest\n"
    )
    t = networks({2: [0.6, 0.62, 0.64], 24: [0.9, 0.91, 0.92]})
    ledger = tmp_path / "run.csv"
    evaluate_panel("fig3a", "paper", [TREND], {"ood_r2": t}).to_csv(ledger, index=False)
    main(["publish-results", "--root", str(tmp_path), "--ledger", str(ledger), "--preset", "quick"])
    readme = (tmp_path / "README.md").read_text()
    assert "1 claims: 1 holds" in readme and "Not evaluated" in readme and "`fig3b`" in readme
    main(["publish-results", "--root", str(tmp_path), "--check"])  # fresh: no error
    published = tmp_path / "docs/results/quick/claims.csv"
    published.write_text(published.read_text().replace("holds", "fails"))
    with pytest.raises(SystemExit, match="stale"):
        main(["publish-results", "--root", str(tmp_path), "--check"])


def test_paired_differences_and_tied_ranks():
    # two selections whose medians agree but whose pairs do not: only the paired test sees it
    a = pd.DataFrame({"cell": range(6), "kind": "mc", "value": [0.1, 0.5, 0.9, 0.2, 0.6, 0.8]})
    b = a.assign(kind="exact", value=[0.5, 0.9, 0.1, 0.6, 0.8, 0.2])
    t = {"t": pd.concat([a, b])}
    near = {"id": "p", "statement": "s", "test": "near", "target": 0.0, "tol": 0.01,
            "units": ["cell"], "exact": True, "stat": "max",
            "a": {"table": "t", "where": {"kind": "mc"}},
            "b": {"table": "t", "where": {"kind": "exact"}}}  # fmt: skip
    assert one({**near, "stat": "median"}, t)["verdict"] == "holds"  # medians coincide
    row = one({**near, "paired": True}, t)
    assert row["value"] == pytest.approx(0.8) and row["verdict"] == "fails"
    assert "paired by unit" in row["statistic"]
    with pytest.raises(ClaimError, match="paired"):
        Claim.from_dict({**TREND, "paired": True})
    # a constant against itself: ties everywhere, ranks averaged, no spurious correlation
    flat = pd.DataFrame({"model": list("abcdef") * 2, "metric": ["x"] * 6 + ["y"] * 6,
                         "value": [1.0] * 6 + [1, 2, 3, 4, 5, 6]})  # fmt: skip
    corr = {"id": "c", "statement": "s", "test": "correlation", "units": ["model"],
            "a": {"table": "g", "where": {"metric": "x"}},
            "b": {"table": "g", "where": {"metric": "y"}}}  # fmt: skip
    assert one(corr, {"g": flat})["value"] == pytest.approx(0.0)


def test_for_each_runs_over_the_selected_values_only():
    spectrum = pd.DataFrame(
        {"point": [0, 0, 0, 1, 1, 1, 2, 2, 2], "rank": [0, 1, 2] * 3,
         "real": [0.01, -0.02, -0.7, 0.0, -0.01, -0.8, 0.02, 0.0, -0.75]}
    )  # fmt: skip
    claim = {"id": "m", "statement": "s", "test": "near", "table": "spectrum", "value": "real",
             "where": {"rank": [0, 1]}, "units": ["point"], "target": 0.0, "tol": 0.1,
             "for_each": "rank"}  # fmt: skip
    rows = evaluate(Claim.from_dict(claim), {"spectrum": spectrum})
    assert [r["claim"] for r in rows] == ["m[0]", "m[1]"]
    assert all(r["verdict"] == "holds" for r in rows)


def test_models_that_failed_their_health_check_are_left_out_of_score_claims():
    """A model that did not train (here: b-s1, a failed check) is dropped from every claim that
    reads its scores, and the ledger says so; a claim on the health table keeps every model."""
    scores = pd.DataFrame(
        [
            {"model": f"{g}-s{s}", "group": g, "seed": s, "metric": "mig", "value": v}
            for g, values in (("a", [0.5, 0.52, 0.51]), ("b", [0.3, 0.9, 0.31, 0.29]))
            for s, v in enumerate(values)
        ]  # fmt: skip
    )
    health = pd.DataFrame(
        [
            {"model": m, "check": c, "value": 1.0, "healthy": not (m == "b-s1" and c == "recon")}
            for m in scores.model
            for c in ("recon", "kl")
        ]  # fmt: skip
    )
    claims = [
        {"id": "a-above-b", "statement": "s", "test": "compare",
         "a": {"table": "generative_scores", "where": {"group": "a"}},
         "b": {"table": "generative_scores", "where": {"group": "b"}}},
        {"id": "all-healthy", "statement": "s", "test": "threshold", "table": "generative_health",
         "where": {"check": "recon"}, "value": "healthy", "stat": "min", "op": ">=",
         "threshold": 1, "exact": True},
    ]  # fmt: skip
    tables = {"generative_scores": scores, "generative_health": health}
    ledger = evaluate_panel("p", "methods", claims, tables).set_index("claim")
    # b's median without the failed model (0.9) is 0.30, not 0.31
    assert ledger.loc["a-above-b", "value"] == pytest.approx(0.51 - 0.30)
    assert ledger.loc["a-above-b", "n_b"] == 3
    assert "b-s1" in ledger.loc["a-above-b", "note"]
    assert ledger.loc["all-healthy", "verdict"] == "fails"  # the health claim sees b-s1
    # without a health table nothing is left out
    kept = evaluate_panel("p", "methods", claims[:1], {"generative_scores": scores})
    assert kept.loc[0, "n_b"] == 4 and kept.loc[0, "note"] == ""


def test_a_paired_claim_with_no_rows_left_is_inconclusive():
    """Every model left out (all failed their health check): no rows, no pairing error."""
    scores = pd.DataFrame({"model": ["m0", "m1"], "metric": ["a", "a"], "value": [0.1, 0.2]})
    health = pd.DataFrame({"model": ["m0", "m1"], "check": "c", "value": 0.0, "healthy": False})
    claim = {"id": "agree", "statement": "s", "test": "correlation", "units": ["model"],
             "a": {"table": "generative_scores", "where": {"metric": "a"}},
             "b": {"table": "generative_scores", "where": {"metric": "a"}}}  # fmt: skip
    tables = {"generative_scores": scores, "generative_health": health}
    row = evaluate_panel("p", "methods", [claim], tables).iloc[0]
    assert row["verdict"] == "inconclusive" and "m0, m1" in row["note"]


def test_readme_summary_lists_every_beyond_claim_whatever_its_verdict():
    """What the replication found beyond the paper is stated from the ledger: every claim of the
    'beyond' section is named under its verdict, one line per panel (a failure plainly); the
    paper's claims only when they fail."""
    from disentangle.claims import readme_summary

    rows = []
    for section, claim, verdict, value in [
        ("paper", "p-holds", "holds", 0.3),
        ("paper", "p-fails", "fails", -0.1),
        ("beyond", "b-holds", "holds", 0.66),
        ("beyond", "b-fails", "fails", -0.2),
        ("beyond", "b-open", "inconclusive", 0.01),
    ]:
        rows.append({"panel": f"{section}-panel", "section": section, "claim": claim,
                     "statement": f"{claim} says", "value": value, "ci_low": value - 0.1,
                     "ci_high": value + 0.1, "op": ">", "threshold": 0.0,
                     "verdict": verdict})  # fmt: skip
    text = readme_summary(pd.DataFrame(rows), "quick")
    beyond = text[text.index("Beyond the paper") : text.index("Claims that fail")]
    line = "- `beyond-panel` (3 claims): holds: b-holds; **fails**: b-fails; inconclusive: b-open."
    assert line in beyond
    failing = text[text.index("Claims that fail") :]
    assert "p-holds" not in text and "`paper-panel` p-fails" in failing
    assert "b-fails" not in failing  # named once, on its panel's line


def test_readme_answers_the_beyond_questions_from_the_ledger():
    """The questions of the beyond section are answered from the verdicts: yes / **no** /
    inconclusive with the value and interval, a for_each claim as counts of its levels, and a
    question without rows in the ledger is left out."""
    from disentangle.claims import beyond_answers

    def row(panel, claim, verdict, value):
        return {"panel": panel, "section": "beyond", "claim": claim, "statement": "s",
                "value": value, "ci_low": value - 0.1, "ci_high": value + 0.1, "op": ">",
                "threshold": 0.0, "verdict": verdict}  # fmt: skip

    df = pd.DataFrame([
        row("beyond-encoder", "above-integrator-entangled", "fails", -0.2),
        row("beyond-encoder-gpt", "above-integrator-entangled", "holds", 0.3),
        row("beyond-noise", "above-integrator-at-24[input]", "fails", -0.1),
        row("beyond-noise", "above-integrator-at-24[units]", "fails", -0.2),
        row("beyond-noise", "above-integrator-at-24[gumbel]", "holds", 0.1),
    ])  # fmt: skip
    lines = beyond_answers(df)
    assert len(lines) == 2
    assert "leaky RNN: **no** (-0.200, CI [-0.300, -0.100]); GPT-2: yes (0.300" in lines[0]
    assert lines[1].endswith("noise kinds: yes for 1, **no** for 2 of 3.")
    assert "geometries:" not in lines[1]  # no beyond-geometry rows: no answer for it


def test_where_max_selects_the_top_of_a_sweep_whatever_the_grid():
    """``frequency: max`` is the largest frequency the table has: 8 in one preset's grid, 16 in
    another's; on a column that is not numeric it is an error naming the claim."""
    from disentangle.claims import ClaimError, _matches

    for grid in ([2, 4, 8], [1, 2, 4, 8, 16]):
        df = pd.DataFrame({"frequency": grid * 2, "metric": ["a"] * len(grid) * 2})
        hit = _matches(df, {"frequency": "max", "metric": "a"}, "c")
        assert set(df.frequency[hit]) == {max(grid)} and hit.sum() == 2
        assert set(df.frequency[_matches(df, {"frequency": "min"}, "c")]) == {min(grid)}
    with pytest.raises(ClaimError, match="claim 'c': where.metric: 'max' needs a numeric column"):
        _matches(df, {"metric": "max"}, "c")
