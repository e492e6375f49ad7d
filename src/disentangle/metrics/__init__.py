"""Metrics on trained representations.

``ood``: the paper's OOD regression generalisation r². The standard disentanglement metrics
(google-research/disentanglement_lib's definitions): ``score(name, codes, factors, ...)`` for the
sample-based ones (``mig``, ``dci``, ``sap``, ``modularity_explicitness``, ``irs``, ``mcc``) and
``beta_vae_score`` / ``factor_vae_score`` for the intervention-based ones.
"""

from disentangle.metrics.beta_vae import beta_vae_score
from disentangle.metrics.dci import dci
from disentangle.metrics.factor_vae import factor_vae_score
from disentangle.metrics.irs import irs
from disentangle.metrics.mcc import mcc
from disentangle.metrics.mig import mig
from disentangle.metrics.modularity import modularity_explicitness
from disentangle.metrics.ood import (
    VAR_U,
    final_states,
    information_ceiling,
    ood_generalisation,
    r2_paper,
)
from disentangle.metrics.registry import METRICS, score, split_train_test
from disentangle.metrics.sap import sap

__all__ = [
    "METRICS",
    "VAR_U",
    "beta_vae_score",
    "dci",
    "factor_vae_score",
    "final_states",
    "information_ceiling",
    "irs",
    "mcc",
    "mig",
    "modularity_explicitness",
    "ood_generalisation",
    "r2_paper",
    "sap",
    "score",
    "split_train_test",
]
