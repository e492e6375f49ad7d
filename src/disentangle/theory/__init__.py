"""The paper's theory as tested numerical functions (Vafidis, Bhargava & Rangel, ICLR 2025,
Theorem 3.1 / B.6 and Eq. 7; docs/replication.md, "Theory checks"), plus Locatello et al. (2019)'s
impossibility argument checked on densities.

Pure float64 functions (``closed_form``, ``bayes``) and table builders that return tidy pandas
DataFrames (setting columns + ``metric`` + ``value``), each fast at small sizes so the smoke preset
can run them: ``reconstruction_table``, ``sigmoid_table``, ``linear_decoder_table``,
``orthogonality_table``, ``r2_time_table``, ``locatello_table`` (all listed in
``CLOSED_FORM_CHECKS``, by check name; ``disentangle.theory_checks`` adds the trained-model ones).
"""

from disentangle.theory.bayes import (
    truncated_normal_moments,
    uniform_prior_logits_2d,
    uniform_prior_posterior_mean,
)
from disentangle.theory.ceilings import bayes_r2_quadrature, r2_time_table
from disentangle.theory.closed_form import (
    ndtri_exp,
    normal_cdf,
    optimal_log_outputs,
    optimal_outputs,
    optimal_probits,
    probit_logits,
    reconstruct_mu,
    reconstruct_mu_log,
    row_space_projection,
    trilaterate,
)
from disentangle.theory.decoding import best_kappa, linear_decoder_table, reconstruction_table
from disentangle.theory.locatello import (
    MARGINALS,
    entangling_map,
    locatello_table,
    mixing_rotation,
    pushforward_residual,
    random_orthogonal,
    sample_prior,
)
from disentangle.theory.orthogonality import column_angles, orthogonality_table
from disentangle.theory.sigmoid import (
    KAPPAS,
    fit_probit_to_logistic,
    minimax_kappa,
    probit_max_error,
    sigmoid_table,
)

CLOSED_FORM_CHECKS = {
    "reconstruction": reconstruction_table,
    "sigmoid": sigmoid_table,
    "linear_decoder": linear_decoder_table,
    "orthogonality": orthogonality_table,
    "r2_time": r2_time_table,
    "locatello": locatello_table,
}

__all__ = [
    "CLOSED_FORM_CHECKS",
    "KAPPAS",
    "MARGINALS",
    "bayes_r2_quadrature",
    "best_kappa",
    "column_angles",
    "entangling_map",
    "fit_probit_to_logistic",
    "linear_decoder_table",
    "locatello_table",
    "minimax_kappa",
    "mixing_rotation",
    "ndtri_exp",
    "normal_cdf",
    "optimal_log_outputs",
    "optimal_outputs",
    "optimal_probits",
    "orthogonality_table",
    "probit_logits",
    "probit_max_error",
    "pushforward_residual",
    "r2_time_table",
    "random_orthogonal",
    "reconstruct_mu",
    "reconstruct_mu_log",
    "reconstruction_table",
    "row_space_projection",
    "sample_prior",
    "sigmoid_table",
    "trilaterate",
    "truncated_normal_moments",
    "uniform_prior_logits_2d",
    "uniform_prior_posterior_mean",
]
