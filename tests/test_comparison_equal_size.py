"""Equal code size in the networks-vs-VAEs comparison (``disentangle.comparison``): the top-D
principal components of a state, the random linear codes of x* that are the metrics' floors, and
the ``score-networks`` table that carries both beside the full states."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import REPO, tiny_experiment
from disentangle.comparison import (
    FLOOR_FAMILY,
    PCS_FAMILY,
    discretise,
    floor_rows,
    random_code_matrix,
    task_observations,
    task_ood_rows,
    top_pcs,
)
from disentangle.data.ingredients import load_ingredients, write_ingredients
from disentangle.metrics import score
from disentangle.seeding import generator

N = 2000


def latents(seed: int, n: int = N) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (n, 2))


def linear_state_with_junk(x: np.ndarray, rotation: np.ndarray, seed: int) -> np.ndarray:
    """64 units: 3·x1, 1.5·x2 and 62 low-variance junk units, rotated and offset by 100."""
    junk = 0.05 * np.random.default_rng(seed).normal(size=(len(x), 62))
    return np.concatenate([3.0 * x[:, :1], 1.5 * x[:, 1:], junk], axis=1) @ rotation + 100.0


def test_top_pcs_of_a_linear_state_with_junk_recover_the_latents():
    x, x_test = latents(0), latents(1)
    rotation, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(64, 64)))
    state = linear_state_with_junk(x, rotation, 3)
    state_test = linear_state_with_junk(x_test, rotation, 4)
    pcs, pcs_test = top_pcs(state, state_test, 2)
    assert pcs.shape == (N, 2) and pcs_test.shape == (N, 2)
    # the span of the latents: x* is a linear function of the two PCs (R² ≈ 1, train and test);
    # without centring the first PC would be the offset, with the last PCs it would be junk
    design = np.column_stack([pcs, np.ones(N)])
    coef, *_ = np.linalg.lstsq(design, x, rcond=None)
    resid = x - design @ coef
    assert 1 - resid.var(axis=0).max() / x.var(axis=0).min() > 0.999
    ood = {r["metric"]: r["value"] for r in task_ood_rows(pcs, x, pcs_test, x_test, 1e-3)}
    assert ood["id_r2"] > 0.999 and ood["ood_r2"] > 0.999
    # the two latents have different variances, so the PCs are the latent axes themselves
    mcc_pcs = score("mcc", pcs, x, correlation="spearman")["mcc"]
    mcc_full = score("mcc", state, x, correlation="spearman")["mcc"]
    assert mcc_pcs > 0.995 and mcc_full < 0.97  # measured 0.9989 and 0.930
    # the test sample is projected on the training fit (its own mean and axes would differ)
    _, head = top_pcs(state, state[:10], 2)
    np.testing.assert_allclose(head, pcs[:10], atol=1e-9)
    # the axes' orientation is fixed by their loadings (the largest is positive), not by the
    # SVD: the negated state has the same axes, so its PCs are the negated PCs
    again, _ = top_pcs(-state, -state[:10], 2)
    np.testing.assert_allclose(again, -pcs, atol=1e-9)


def test_random_linear_code_is_exact_named_and_a_real_floor():
    a = random_code_matrix(2, 64, 0)
    torch.manual_seed(123)  # the global generator plays no part
    expected = torch.randn(
        (2, 64), generator=generator("random-linear-code", 2, 64, 0), dtype=torch.float64
    )
    np.testing.assert_array_equal(a, expected.numpy())
    np.testing.assert_array_equal(a, random_code_matrix(2, 64, 0))
    assert not np.allclose(a, random_code_matrix(2, 64, 1))
    assert random_code_matrix(2, 5, 0).shape == (2, 5)
    x = latents(0)
    labels = discretise(x, 10)
    z = x @ a
    assert np.linalg.matrix_rank(z) == 2  # fully entangled: every unit mixes both latents
    assert (np.abs(a) > 1e-3).all()
    # an entangled code of H = 64 units scores as if disentangled: the floor is real
    dci = score("dci", z, labels, seed=0, n_estimators=5)
    assert dci["disentanglement"] > 0.95  # measured 1.0
    assert score("mcc", z, x, correlation="spearman")["mcc"] > 0.99  # measured 0.999
    # while random codes of D = 2 units are scored as entangled: the floor depends on the size
    small = [
        score("dci", x @ random_code_matrix(2, 2, d), labels, seed=d, n_estimators=5)
        for d in range(3)
    ]
    assert max(s["disentanglement"] for s in small) < 0.5  # measured 0.25, 0.31, 0.03


def test_floor_rows_one_block_per_distinct_size_and_draw():
    x, x_test = latents(0, 400), latents(1, 400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs on rank-deficient codes
        rows = floor_rows(x, x_test, discretise(x, 5), (2, 8, 2), 2, 1e-3, draws=2)
    df = pd.DataFrame(rows)
    assert set(df.family) == {FLOOR_FAMILY}
    assert df.groupby(["code_size", "seed"]).size().to_dict() == {
        (2, 0): 14,
        (2, 1): 14,
        (8, 0): 14,
        (8, 1): 14,
    }
    ood = df[df.metric == "ood_r2"]
    assert (ood.value > 0.99).all()  # the codes hold x* exactly (no noise)


@pytest.fixture
def scored(tmp_path):
    from disentangle.cli import main
    from disentangle.training import train_ensemble

    exp = tiny_experiment(
        "eqsize",
        n_tasks=[2, 6],
        seeds=[0],
        training={"n_batches": 40, "batch_size": 8, "checkpoint_every": 100, "log_every": 20},
    )
    ing, model = tmp_path / "i.pt", tmp_path / "m.pt"
    write_ingredients(exp, str(ing), n_train=256, n_test=64, eval_seed=0)
    train_ensemble(
        exp, str(ing), str(model), str(tmp_path / "c.pt"), device="cpu", log=lambda *a, **k: None
    )
    settings = {
        "n_points": 500,
        "n_bins": 5,
        "dci_estimators": 2,
        "ood_penalty": 0.001,
        "network_tasks": "extremes",
        "floor_draws": 2,
    }
    out = tmp_path / "scores.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main(["score-networks", "--model", str(model), "--ingredients", str(ing),
              "--settings", json.dumps(settings), "--context", '{"preset": "t"}',
              "--out", str(out), "--device", "cpu", "--threads", "1"])  # fmt: skip
    obs_dim = task_observations(load_ingredients(str(ing))["encoders"][0], 2, 3, 0)[0].shape[1]
    files = {"model": model, "ingredients": ing, "settings": settings, "dir": tmp_path}
    return pd.read_parquet(out), exp, obs_dim, files


def test_score_networks_adds_equal_size_families(scored):
    df, exp, obs_dim, _ = scored
    families = ["multi-task", "raw", PCS_FAMILY, FLOOR_FAMILY]
    assert list(dict.fromkeys(df.family)) == families  # the existing rows come first
    assert df.code_size.notna().all() and df.code_size.dtype.kind == "i"
    sizes = df.groupby("family").code_size.agg(lambda s: sorted(set(s))).to_dict()
    hidden, dim = exp.hidden_size, exp.task.dim
    assert sizes == {
        "multi-task": [hidden],
        "raw": [obs_dim],
        PCS_FAMILY: [dim],
        FLOOR_FAMILY: sorted({dim, hidden, obs_dim}),
    }
    metrics = df.groupby("family").metric.agg(lambda s: tuple(sorted(set(s))))
    assert metrics.nunique() == 1  # every family is scored with the same metrics
    assert "dci.disentanglement" in metrics.iloc[0] and "ood_r2" in metrics.iloc[0]
    members = {f: set(zip(g.n_tasks, g.seed, strict=True)) for f, g in df.groupby("family")}
    assert members[PCS_FAMILY] == members["multi-task"] == {(2, 0), (6, 0)}
    floors = df[df.family == FLOOR_FAMILY]
    assert set(floors.n_tasks) == {0} and set(floors.seed) == {0, 1}
    per_metric = floors.groupby(["code_size", "seed"]).size()
    assert (per_metric == len(metrics.iloc[0])).all()
    assert (floors[floors.metric == "ood_r2"].value > 0.99).all()
    assert df.experiment.eq("eqsize").all() and df.preset.eq("t").all()


def test_the_panel_reads_the_families_the_table_writes():
    text = (REPO / "workflow/notebooks/vae_mtl_comparison.py").read_text()
    assert f'PCS_FAMILY, FLOOR_FAMILY = "{PCS_FAMILY}", "{FLOOR_FAMILY}"' in text


def test_shared_floors_table_equals_the_floors_computed_in_the_job(scored):
    """The workflow scores the floors once per task (``floors``) and appends them: same rows as
    computing them inside ``score-networks``; a floors table of another sample is refused."""
    from disentangle.cli import main

    df, exp, _, f = scored
    floors = f["dir"] / "floors.parquet"
    main(["floors", "--experiment", exp.name, "--spec", json.dumps(exp.to_dict()),
          "--settings", json.dumps(f["settings"]), "--out", str(floors)])  # fmt: skip

    def score(settings, out):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            main(["score-networks", "--model", str(f["model"]), "--ingredients",
                  str(f["ingredients"]), "--settings", json.dumps(settings), "--context",
                  '{"preset": "t"}', "--floors", str(floors), "--out", str(out),
                  "--device", "cpu", "--threads", "1"])  # fmt: skip
        return pd.read_parquet(out)

    shared = score(f["settings"], f["dir"] / "shared.parquet")
    pd.testing.assert_frame_equal(shared, df)
    other = {**f["settings"], "floor_draws": 3}
    with pytest.raises(SystemExit, match="floors scored for sample key"):
        score(other, f["dir"] / "other.parquet")
    assert not (f["dir"] / "other.parquet").exists()
