"""One entry point for the sample-based disentanglement metrics: ``score(name, codes, factors,
...)`` (google-research/disentanglement_lib's metric set, see each module).

Names: ``mig``, ``dci``, ``sap``, ``modularity_explicitness``, ``irs``, ``mcc``. The
intervention-based BetaVAE and FactorVAE scores need a representation function and a factor
sampler instead of arrays: call ``beta_vae_score`` / ``factor_vae_score`` directly.

Test split: ``dci``, ``sap`` (discrete) and ``modularity_explicitness`` fit estimators and score
them on held-out data. They use ``codes_test``/``factors_test`` when given; otherwise the training
arrays are split deterministically by ``split_train_test``: a permutation drawn from ``seed``
(``numpy.random.default_rng`` on a seed derived from it), the first two thirds train and the rest
test (dlib's 10000 : 5000 proportion). ``mig``, ``irs``, ``mcc`` and SAP with
``continuous_factors=True`` use only the training arrays (as dlib); test arrays given to them are
ignored, so that one call pattern serves every metric.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from disentangle.metrics.dci import dci
from disentangle.metrics.irs import irs
from disentangle.metrics.mcc import mcc
from disentangle.metrics.mig import mig
from disentangle.metrics.modularity import modularity_explicitness
from disentangle.metrics.sap import sap
from disentangle.seeding import derive_seed

METRICS: dict[str, Callable[..., dict[str, float]]] = {
    "mig": mig,
    "dci": dci,
    "sap": sap,
    "modularity_explicitness": modularity_explicitness,
    "irs": irs,
    "mcc": mcc,
}
NEEDS_TEST_SPLIT = ("dci", "sap", "modularity_explicitness")
TEST_FRACTION = 1.0 / 3.0


def split_train_test(
    codes: np.ndarray, factors: np.ndarray, *, seed: int = 0, test_fraction: float = TEST_FRACTION
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seeded random split of (codes, factors) rows into train and test parts.

    Returns codes_train, factors_train, codes_test, factors_test; the test part has
    round(n · test_fraction) rows (at least 1, and at least 2 left for training).
    """
    codes, factors = np.asarray(codes), np.asarray(factors)
    n = codes.shape[0] if codes.ndim >= 1 else 0
    if factors.ndim < 1 or factors.shape[0] != n:
        raise ValueError(
            f"codes has {n} rows but factors has shape {factors.shape}: expected the same rows"
        )
    if n < 3:
        raise ValueError(f"codes has {n} rows: expected at least 3 to split off a test set")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction = {test_fraction}: expected a number in (0, 1)")
    n_test = min(max(1, round(n * test_fraction)), n - 2)
    perm = np.random.default_rng(derive_seed("metrics.split", seed)).permutation(n)
    train, test = perm[: n - n_test], perm[n - n_test :]
    return codes[train], factors[train], codes[test], factors[test]


def _check_options(name: str, fn: Callable, options: dict) -> None:
    """Raise ValueError naming any option that ``fn`` does not take as a keyword."""
    allowed = [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "seed"
    ]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"metric {name!r}: unknown option(s) {unknown}; expected any of {allowed}")


def score(
    name: str,
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray | None = None,
    factors_test: np.ndarray | None = None,
    *,
    seed: int = 0,
    **options,
) -> dict[str, float]:
    """Compute the sample-based metric ``name`` on codes (n, d) and factor labels (n, K).

    ``options`` are the metric's keyword arguments (e.g. ``n_estimators`` for dci,
    ``correlation`` for mcc); ``seed`` seeds the estimators and the default train/test split.
    """
    if name not in METRICS:
        hint = ""
        if name in ("beta_vae", "factor_vae"):
            hint = f" ({name} is intervention-based: call {name}_score(represent, ...))"
        raise ValueError(f"unknown metric {name!r}{hint}: expected one of {sorted(METRICS)}")
    fn = METRICS[name]
    _check_options(name, fn, options)
    if (codes_test is None) != (factors_test is None):
        raise ValueError("codes_test and factors_test: expected both or neither")
    takes_seed = "seed" in inspect.signature(fn).parameters
    kwargs = {"seed": seed, **options} if takes_seed else dict(options)
    split = name in NEEDS_TEST_SPLIT and not (name == "sap" and options.get("continuous_factors"))
    if not split:
        return fn(codes_train, factors_train, **kwargs)
    if codes_test is None:
        codes_train, factors_train, codes_test, factors_test = split_train_test(
            codes_train, factors_train, seed=seed
        )
    return fn(codes_train, factors_train, codes_test, factors_test, **kwargs)
