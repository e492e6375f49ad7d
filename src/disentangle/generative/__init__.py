"""Unsupervised generative baselines: the β-VAE family, iVAE and InfoGAN.

``METHODS`` maps a config name to its model class; ``build_model`` makes any of them from a config
entry such as ``{"method": "beta_vae", "beta": 4, "seed": 0}`` (every other key is a keyword
argument of the class; unknown keys raise). ``SWEEPS`` lists dlib's hyperparameter grids
(reference notes section 2). Training: ``train.train_generative``; codes for the metrics:
``train.represent``; the iVAE synthetic data: ``synthetic.make_ivae_dataset``.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from disentangle.generative.base import GenerativeModel
from disentangle.generative.infogan import InfoGAN
from disentangle.generative.ivae import IVAE
from disentangle.generative.vae import VAE, AnnealedVAE, BetaTCVAE, BetaVAE, FactorVAE
from disentangle.seeding import generator

METHODS: dict[str, type[GenerativeModel]] = {
    "vae": VAE,
    "beta_vae": BetaVAE,
    "annealed_vae": AnnealedVAE,
    "beta_tcvae": BetaTCVAE,
    "factor_vae": FactorVAE,
    "ivae": IVAE,
    "infogan": InfoGAN,
}

SWEEPS: dict[str, dict[str, list[float]]] = {
    "beta_vae": {"beta": [1, 2, 4, 6, 8, 16]},
    "annealed_vae": {"c_max": [5, 10, 25, 50, 75, 100]},
    "beta_tcvae": {"beta": [1, 2, 4, 6, 8, 10]},
    "factor_vae": {"gamma": [10, 20, 30, 40, 50, 100]},
}

_SUPPLIED = {"self", "observation_shape", "generator", "n_aux"}  # not settable from a spec


def hyperparameters(method: str) -> dict[str, object]:
    """The keyword arguments a spec may set for ``method``, with their defaults."""
    if method not in METHODS:
        raise ValueError(f"method = {method!r}: expected one of {sorted(METHODS)}")
    out: dict[str, object] = {}
    for cls in METHODS[method].__mro__:  # walk up while each __init__ forwards **kwargs
        params = inspect.signature(cls.__init__).parameters.values()
        for p in params:
            if p.name not in _SUPPLIED and p.kind is p.KEYWORD_ONLY:
                out.setdefault(p.name, p.default)
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return out


def split_spec(spec: dict, seed: int | None = None) -> tuple[str, dict, int]:
    """(method, hyperparameters, seed) of a config entry; the seed is the ``seed`` argument or
    ``spec["seed"]`` (when both are given they must agree)."""
    if not isinstance(spec, dict) or "method" not in spec:
        raise ValueError(f"spec = {spec!r}: expected a dict with a 'method' key")
    method = spec["method"]
    allowed = hyperparameters(method)
    hyper = {k: v for k, v in spec.items() if k not in ("method", "seed")}
    unknown = sorted(set(hyper) - set(allowed))
    if unknown:
        raise ValueError(
            f"spec for {method!r} has unknown key(s) {unknown}: expected some of {sorted(allowed)}"
        )
    if seed is None:
        seed = spec.get("seed")
    elif "seed" in spec and spec["seed"] != seed:
        raise ValueError(f"seed = {seed} but spec['seed'] = {spec['seed']}: expected one seed")
    if seed is None or int(seed) != seed or seed < 0:
        raise ValueError(f"seed = {seed!r}: expected a non-negative integer (argument or spec)")
    return method, hyper, int(seed)


def build_model(
    spec: dict, observation_shape: Sequence[int], n_aux: int = 0, seed: int | None = None
) -> GenerativeModel:
    """A freshly initialised model of ``spec`` for observations of ``observation_shape``.

    The weights are drawn from the stream ("generative-init", seed), so models of one seed share
    their draws whatever the method.
    """
    method, hyper, seed = split_spec(spec, seed)
    cls = METHODS[method]
    if cls is IVAE:
        hyper["n_aux"] = n_aux  # the other methods ignore u (a VAE baseline does not see it)
    return cls(observation_shape, generator=generator("generative-init", seed), **hyper)


__all__ = [
    "METHODS",
    "SWEEPS",
    "VAE",
    "AnnealedVAE",
    "BetaTCVAE",
    "BetaVAE",
    "FactorVAE",
    "GenerativeModel",
    "IVAE",
    "InfoGAN",
    "build_model",
    "hyperparameters",
    "split_spec",
]
