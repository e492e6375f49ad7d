"""BetaVAE score (Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts with a Constrained
Variational Framework"), as google-research/disentanglement_lib (dlib ``beta_vae.py``) computes it.

One example: pick a factor k uniformly; draw two batches of ``batch_size=64`` factor vectors;
copy factor k of batch 1 into batch 2; represent both; the feature is the mean over the batch of
|r1 − r2| (one value per code dimension) and the label is k. A ``LogisticRegression`` is fit on
``num_train=10000`` examples (``train_accuracy``, on those same examples) and scored on
``num_eval=5000`` fresh ones (``eval_accuracy``). Chance is 1/K. A linear classifier can read a
rotated code, so the score stays high under rotation (reference notes: about 0.97 for a randomly
rotated noise-free code).

Interface: ``represent(factors) -> codes`` maps an ``(n, n_factors)`` int label array to an
``(n, n_codes)`` float array (for a model: render the observations, encode, return the mean), and
``sample_factors(n, rng) -> (n, n_factors)`` int labels draws uniformly over the factor grid from
the ``numpy.random.Generator`` it is given. Sampling (``beta_vae_features``) is apart from the math
(``beta_vae_accuracy``).

Differences from dlib, and why: ``represent`` is called on up to ``chunk_rows`` rows at once (many
examples per call) instead of 64 at a time, which changes the order of the random draws but not
their distribution; all draws come from ``numpy.random.default_rng`` seeded from ``seed``; the
classifier is sklearn's current lbfgs multinomial ``LogisticRegression`` with ``max_iter=1000``
and a seeded ``random_state`` (dlib's era: liblinear one-vs-rest; a small numeric drift). If the
training examples hold a single label (tiny ``num_train``) every example is predicted as it.
Degenerate codes do not crash: constant or all-zero codes give features that are all zero, and the
classifier falls back to one class (about 1/K).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from disentangle.seeding import derive_seed

Represent = Callable[[np.ndarray], np.ndarray]
SampleFactors = Callable[[int, np.random.Generator], np.ndarray]
LOGISTIC_MAX_ITER = 1000


def draw_factors(
    sample_factors: SampleFactors, n: int, n_factors: int, rng: np.random.Generator
) -> np.ndarray:
    """Call ``sample_factors(n, rng)`` and check it returned ``(n, n_factors)`` integer labels."""
    f = np.asarray(sample_factors(n, rng))
    if f.shape != (n, n_factors) or not np.issubdtype(f.dtype, np.integer):
        raise ValueError(
            f"sample_factors({n}, rng) returned {f.dtype} of shape {f.shape}: expected an integer "
            f"array of shape ({n}, {n_factors})"
        )
    return f.copy()


def represent_checked(represent: Represent, factors: np.ndarray) -> np.ndarray:
    """Call ``represent(factors)`` and check it returned finite ``(n, n_codes)`` floats."""
    r = np.asarray(represent(factors), dtype=np.float64)
    if r.ndim != 2 or r.shape[0] != factors.shape[0] or r.shape[1] < 1:
        raise ValueError(
            f"represent returned shape {r.shape} for {factors.shape[0]} factor rows: expected "
            f"({factors.shape[0]}, n_codes)"
        )
    if not np.all(np.isfinite(r)):
        raise ValueError("represent returned NaN or inf: expected finite codes")
    return r


def check_sampling_args(n_factors: int, batch_size: int, chunk_rows: int, **counts: int) -> None:
    """Raise ValueError for a factor count < 2, a batch size < 2 or a non-positive count."""
    if int(n_factors) < 2:
        raise ValueError(f"n_factors = {n_factors}: expected >= 2 (the score tells factors apart)")
    if int(batch_size) < 2:
        raise ValueError(f"batch_size = {batch_size}: expected an integer >= 2")
    if int(chunk_rows) < 1:
        raise ValueError(f"chunk_rows = {chunk_rows}: expected an integer >= 1")
    for name, value in counts.items():
        if int(value) < 1:
            raise ValueError(f"{name} = {value}: expected an integer >= 1")


def beta_vae_features(
    represent: Represent,
    sample_factors: SampleFactors,
    n_factors: int,
    n_points: int,
    rng: np.random.Generator,
    *,
    batch_size: int = 64,
    chunk_rows: int = 4096,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_points`` BetaVAE examples: features (n_points, n_codes) and labels (n_points,).

    Each feature is the batch mean of |r1 − r2| over pairs that share the factor named by the label.
    """
    per_call = max(1, int(chunk_rows) // int(batch_size))
    features, labels = [], []
    done = 0
    while done < n_points:
        m = min(per_call, n_points - done)
        k = rng.integers(n_factors, size=m)
        rows = m * batch_size
        first = draw_factors(sample_factors, rows, n_factors, rng)
        second = draw_factors(sample_factors, rows, n_factors, rng)
        shared = np.repeat(k, batch_size)
        second[np.arange(rows), shared] = first[np.arange(rows), shared]
        diff = np.abs(represent_checked(represent, first) - represent_checked(represent, second))
        features.append(diff.reshape(m, batch_size, -1).mean(axis=1))
        labels.append(k)
        done += m
    return np.concatenate(features), np.concatenate(labels)


def beta_vae_accuracy(
    features_train: np.ndarray,
    labels_train: np.ndarray,
    features_eval: np.ndarray,
    labels_eval: np.ndarray,
    *,
    seed: int = 0,
) -> dict[str, float]:
    """Fit a logistic regression on BetaVAE features; its train and eval accuracies.

    Returns ``train_accuracy`` (on the training examples, as dlib) and ``eval_accuracy``.
    """
    from sklearn.linear_model import LogisticRegression  # on use: ~2 s to load

    classes = np.unique(labels_train)
    if classes.size == 1:
        return {
            "train_accuracy": 1.0,
            "eval_accuracy": float(np.mean(labels_eval == classes[0])),
        }
    model = LogisticRegression(
        max_iter=LOGISTIC_MAX_ITER, random_state=derive_seed("metrics.beta_vae.lr", seed) % 2**32
    )
    model.fit(features_train, labels_train)
    return {
        "train_accuracy": float(np.mean(model.predict(features_train) == labels_train)),
        "eval_accuracy": float(np.mean(model.predict(features_eval) == labels_eval)),
    }


def beta_vae_score(
    represent: Represent,
    sample_factors: SampleFactors,
    n_factors: int,
    *,
    seed: int = 0,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    chunk_rows: int = 4096,
) -> dict[str, float]:
    """dlib's BetaVAE score of a representation: how well a linear classifier tells which factor
    was held fixed from mean absolute code differences. Keys ``train_accuracy``, ``eval_accuracy``.
    """
    check_sampling_args(n_factors, batch_size, chunk_rows, num_train=num_train, num_eval=num_eval)
    rng = np.random.default_rng(derive_seed("metrics.beta_vae", seed))
    kwargs = {"batch_size": int(batch_size), "chunk_rows": int(chunk_rows)}
    train = beta_vae_features(represent, sample_factors, n_factors, int(num_train), rng, **kwargs)
    evals = beta_vae_features(represent, sample_factors, n_factors, int(num_eval), rng, **kwargs)
    return beta_vae_accuracy(*train, *evals, seed=seed)
