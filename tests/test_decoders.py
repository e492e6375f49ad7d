"""The OOD decoders' typed settings (metrics.decoders): parsed once, errors that name the key."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import yaml

from conftest import REPO
from disentangle.comparison import task_ood_rows
from disentangle.config import deep_merge
from disentangle.metrics import decoders, ood
from disentangle.metrics.baselines import _seed_settings
from disentangle.metrics.decoders import AdamSettings, OODSettings, RidgeSettings
from disentangle.seeding import generator

CONFIG = {
    "decoder": "adam",
    "n_fits": 3,
    "adam": {"lr": 0.003, "batch_size": 16, "n_batches": "paper"},
    "ridge": {"penalty": 1.0e-6},
}


def with_setting(dotted: str, value) -> dict:
    """A deep copy of CONFIG with one setting replaced (``...`` removes it)."""
    cfg = {k: dict(v) if isinstance(v, dict) else v for k, v in CONFIG.items()}
    *parents, key = dotted.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return cfg


@pytest.mark.parametrize("preset", ["config", "smoke", "paper"])
def test_every_preset_parses(preset):
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    if preset != "config":
        base = deep_merge(base, yaml.safe_load((REPO / "config" / f"{preset}.yaml").read_text()))
    settings = OODSettings.from_config(base["metrics"]["ood"])
    assert settings.decoder in decoders.DECODERS and settings.adam and settings.ridge


def test_from_config_gives_frozen_typed_settings():
    s = OODSettings.from_config(CONFIG)
    assert s == OODSettings("adam", 3, AdamSettings(0.003, 16, "paper"), RidgeSettings(1e-6))
    assert OODSettings.of(s) is s and OODSettings.of(CONFIG) == s
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.n_fits = 5
    assert s.with_decoder("ridge").decoder == "ridge" and s.decoder == "adam"
    assert [s.adam.budget(n) for n in (2, 6, 24)] == [3000, 2000, 1000]
    assert AdamSettings(1e-3, 8, 250).budget(24) == 250


@pytest.mark.parametrize(
    "dotted, value, message",
    [
        ("decoder", "lasso", "metrics.ood.decoder = 'lasso': expected one of"),
        ("n_fits", 0, "metrics.ood.n_fits = 0: expected a positive integer"),
        ("n_fits", 2.0, "metrics.ood.n_fits = 2.0: expected a positive integer"),
        ("n_fits", ..., "metrics.ood.n_fits is missing"),
        ("adam.lr", float("nan"), "metrics.ood.adam.lr = nan: expected a finite number > 0"),
        ("adam.lr", "fast", "metrics.ood.adam.lr = 'fast'"),
        ("adam.batch_size", True, "metrics.ood.adam.batch_size = True"),
        ("adam.n_batches", "all", "metrics.ood.adam.n_batches = 'all'"),
        ("adam.n_batches", ..., "metrics.ood.adam.n_batches is missing"),
        ("adam.momentum", 0.9, "metrics.ood.adam.momentum: unknown setting"),
        ("ridge.penalty", -1, "metrics.ood.ridge.penalty = -1: expected a finite number >= 0"),
        ("adam", ..., "metrics.ood.adam is missing: the adam decoder needs it"),
        ("lasso", {}, "metrics.ood.lasso: unknown setting"),
        ("ridge", 0.1, "metrics.ood.ridge = 0.1: expected a mapping"),
    ],
)
def test_a_bad_setting_is_named(dotted, value, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        OODSettings.from_config(with_setting(dotted, value))


def test_ridge_only_settings_need_no_adam_block():
    s = OODSettings.from_config({"decoder": "ridge", "n_fits": 1, "ridge": {"penalty": 0}})
    assert s.adam is None and s.ridge.penalty == 0.0 and isinstance(s.ridge.penalty, float)
    with pytest.raises(ValueError, match="metrics.ood.adam is missing"):
        s.with_decoder("adam")


def test_moved_names_are_the_same_objects_in_ood():
    for name in ("DECODERS", "PAPER_BUDGET", "decoder_budget", "final_states", "fit_adam"):
        assert getattr(ood, name) is getattr(decoders, name), name
    assert ood.fit_ridge is decoders.fit_ridge and ood.OODSettings is OODSettings


def representation(k=2, n=400, h=6, seed=0):
    """Noisy linear codes (K, n, H) of latents x (n, D); the same K codes for every ``seed``."""
    x = torch.rand((n, 2), generator=generator("test-x", seed)) - 0.5
    mix = torch.randn((k, 2, h), generator=generator("test-mix", 0))
    noise = 0.05 * torch.randn((k, n, h), generator=generator("test-noise", seed))
    return x @ mix + noise, x


def test_rows_from_a_mapping_equal_rows_from_the_dataclass():
    states, x = representation()
    states_t, x_t = representation(seed=1)
    members = [(2, 0), (6, 1)]
    cfg = with_setting("adam.n_batches", 30)
    for decoder in ("adam", "ridge"):
        plain = ood.ood_rows(states, x, states_t, x_t, members, {**cfg, "decoder": decoder})
        typed = ood.ood_rows(
            states, x, states_t, x_t, members, OODSettings.from_config(cfg).with_decoder(decoder)
        )
        assert plain == typed and len(plain) == 2 * 4 * 3 * 2


def test_seed_settings_take_the_most_generous_budget():
    s = OODSettings.from_config(CONFIG)
    seed = _seed_settings(s, [(24, 0), (6, 0), (12, 1)])
    assert seed.adam.n_batches == 2000 and seed.n_fits == s.n_fits and s.adam.n_batches == "paper"
    ridge = OODSettings("ridge", 1, ridge=RidgeSettings(0.0))
    assert _seed_settings(ridge, [(2, 0)]) is ridge


def test_task_ood_rows_takes_a_penalty_or_ridge_settings():
    states, x = representation(k=1)
    states_t, x_t = representation(k=1, seed=1)
    a = task_ood_rows(states[0].numpy(), x.numpy(), states_t[0].numpy(), x_t.numpy(), 1e-3)
    b = task_ood_rows(
        states[0].numpy(), x.numpy(), states_t[0].numpy(), x_t.numpy(), RidgeSettings(1e-3)
    )
    assert a == b and [r["metric"] for r in a] == ["ood_r2", "id_r2"]
    assert all(r["value"] > 0.9 for r in a)


def _direct_ridge(states, x, masks, n_fits, penalty):
    """The definition: one centred, penalised least-squares solve per (mask, fit) on its rows."""
    k, n, h = states.shape
    weight = torch.zeros((k, masks.shape[0], n_fits, h, x.shape[1]), dtype=torch.float64)
    bias = torch.zeros((k, masks.shape[0], n_fits, x.shape[1]), dtype=torch.float64)
    s64, x64 = states.double(), x.double()
    for i in range(masks.shape[0]):
        for j in range(n_fits):
            use = masks[i] & (torch.arange(n) % n_fits != j)
            f, t = s64[:, use], x64[use]
            fc, tc = f - f.mean(dim=1, keepdim=True), t - t.mean(dim=0)
            gram = fc.transpose(1, 2) @ fc
            scale = gram.diagonal(dim1=1, dim2=2).mean(dim=1)
            w = torch.linalg.solve(gram + penalty * scale[:, None, None] * torch.eye(h), fc.mT @ tc)
            weight[:, i, j], bias[:, i, j] = (
                w,
                t.mean(dim=0) - (f.mean(dim=1, keepdim=True) @ w)[:, 0],
            )
    return weight, bias


@pytest.mark.parametrize("penalty", [1e-6, 1e-2])
def test_ridge_by_parts_equals_the_direct_solve(penalty):
    """The sufficient-statistics ridge (every part's products once) gives each (mask, fit) the
    decoder of its own direct solve, also for states far from zero (an offset of 50 sd: the shift
    keeps S − n·μμᵀ from cancelling) and for uneven part sizes."""
    g = generator("test-ridge-parts", 0)
    k, n, h = 3, 1001, 12
    x = torch.rand((n, 2), generator=g) - 0.5
    mix = torch.randn((k, 2, h), generator=g, dtype=torch.float64)
    states = torch.tanh(x.double() @ mix) + 0.05 * torch.randn((k, n, h), generator=g).double()
    states = states + 50.0 * states.std()  # far from zero
    masks = torch.stack([x[:, 0] > 0, x[:, 1] < 0.2, torch.ones(n, dtype=torch.bool)])
    w, b = decoders.fit_ridge(states.float(), x, masks, 3, penalty)
    w_ref, b_ref = _direct_ridge(states.float().double(), x, masks, 3, penalty)
    assert w.shape == (k, 3, 3, h, 2) and b.shape == (k, 3, 3, 2)
    pred = torch.einsum("knh,kmjhd->kmjnd", states, w.double()) + b.double()[:, :, :, None]
    ref = torch.einsum("knh,kmjhd->kmjnd", states, w_ref) + b_ref[:, :, :, None]
    assert torch.allclose(pred, ref, atol=1e-5), float((pred - ref).abs().max())
    assert torch.allclose(w.double(), w_ref, rtol=1e-4, atol=1e-4)
