"""Wall time of every disentanglement metric on 10,000 codes, at dlib's defaults.

    python benchmarks/metric_time.py               # 10,000 codes, 10 dimensions, dSprites factors
    python benchmarks/metric_time.py --n 2000      # a smaller case

The codes are a synthetic, partly disentangled representation of the five dSprites factors with
their original cardinalities (shape 3, scale 6, orientation 40, x 32, y 32): each factor, scaled to
[0, 1], drives one code dimension through a monotone warp, the two positions are mixed by a 30°
rotation, noise is added, and five more dimensions are pure noise. The sample-based metrics get
the 10,000 (code, factor) rows (``dci``, ``sap``, ``modularity_explicitness`` split them 2 : 1, as
dlib's 10,000 : 5,000); the intervention-based BetaVAE and FactorVAE scores get the same map as
their representation function and draw dlib's num_train = 10,000 and num_eval = 5,000 points
(batches of 64). With a trained encoder as the representation, those two also pay for about
2·10⁶ encoder passes (BetaVAE: 15,000 points × 64 pairs), which this benchmark leaves out on
purpose: it times the metrics, not a model.

Printed: one row per metric (and per setting where the workflow uses two), its seconds and the
scores it returned, so that a slow metric with a wrong answer does not pass as a fast one.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from disentangle.data.dsprites import FACTOR_SIZES, sample_factors
from disentangle.metrics import beta_vae_score, factor_vae_score, score


def synthetic_code(factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 10-d code of the factors: warped, partly rotated, noisy, plus 5 noise dimensions."""
    u = factors / (np.asarray(FACTOR_SIZES) - 1.0)
    warped = (u[:, 0], u[:, 1] ** 2, np.sin(np.pi * u[:, 2] / 2), u[:, 3], np.tanh(2 * u[:, 4]))
    z = np.stack(warped, axis=1)
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    z[:, [3, 4]] = z[:, [3, 4]] @ np.array([[c, -s], [s, c]])
    z = z + 0.05 * rng.standard_normal(z.shape)
    return np.concatenate([z, rng.standard_normal((len(z), 5))], axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=10000, help="number of (code, factor) rows")
    ap.add_argument("--threads", type=int, default=1, help="torch/BLAS threads (the workflow: 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    factors = sample_factors(args.n, rng)
    codes = synthetic_code(factors, rng)
    noise_rng = np.random.default_rng(1)

    def represent(f: np.ndarray) -> np.ndarray:
        return synthetic_code(f, noise_rng)

    cases = [
        ("mig", lambda: score("mig", codes, factors)),
        ("dci (100 trees, dlib)", lambda: score("dci", codes, factors, n_estimators=100)),
        ("dci (10 trees, quick)", lambda: score("dci", codes, factors, n_estimators=10)),
        ("sap", lambda: score("sap", codes, factors)),
        ("modularity_explicitness", lambda: score("modularity_explicitness", codes, factors)),
        ("irs", lambda: score("irs", codes, factors)),
        ("mcc", lambda: score("mcc", codes, factors)),
        ("beta_vae_score (10k/5k)", lambda: beta_vae_score(represent, sample_factors, 5)),
        ("factor_vae_score (10k/5k)", lambda: factor_vae_score(represent, sample_factors, 5)),
    ]
    print(f"{args.n} codes of 10 dimensions, 5 dSprites factors, {args.threads} thread(s)")
    print(f"{'metric':28s} {'seconds':>8s}  scores")
    total = 0.0
    for name, fn in cases:
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        total += dt
        shown = ", ".join(f"{k} {v:.3f}" for k, v in out.items() if isinstance(v, float))
        print(f"{name:28s} {dt:8.2f}  {shown}", flush=True)
    print(f"{'total':28s} {total:8.2f}")


if __name__ == "__main__":
    main()
