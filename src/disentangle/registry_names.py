"""The names in the package's torch-side registries, listed without importing torch.

The config check (``disentangle.config``) runs in Snakemake's process before any job: it needs the
names of the theory checks and of the generative methods' hyperparameters, but importing the
registries that define them (``disentangle.theory_checks``, ``disentangle.generative``) would
import torch and take seconds on every ``snakemake`` call. The workflow's code dependencies
(``workflow/rules/common.smk``) need the module that defines each architecture and each theory
check. ``tests/test_registry_names.py`` keeps every list here equal to its registry.
"""

from __future__ import annotations

#: the module (relative to src/disentangle) that defines each architecture of
#: ``disentangle.models.ARCHITECTURES``: a network's jobs depend on its own model file only
ARCHITECTURE_MODULES = {
    "leaky_rnn": "models/recurrent.py",
    "nonleaky_rnn": "models/recurrent.py",
    "lstm": "models/recurrent.py",
    "gru": "models/recurrent.py",
    "gpt2": "models/gpt2.py",
}

#: each check of ``disentangle.theory_checks.CHECKS`` and where it comes from: the closed-form
#: checks of ``disentangle.theory`` (the package) or the trained-model studies
THEORY_CHECK_MODULES = {
    "reconstruction": "theory/__init__.py",
    "linear_decoder": "theory/__init__.py",
    "orthogonality": "theory/__init__.py",
    "r2_time": "theory/__init__.py",
    "locatello": "theory/__init__.py",
    "sigmoid": "theory/__init__.py",
    "ivae": "generative_studies.py",
    "locatello_vae": "generative_studies.py",
}
THEORY_CHECKS = tuple(THEORY_CHECK_MODULES)

#: the keyword arguments a generative model's spec may set, per method
#: (``disentangle.generative.hyperparameters``, without the defaults)
GENERATIVE_HYPERPARAMETERS: dict[str, tuple[str, ...]] = {
    "vae": ("n_latent", "lr", "hidden", "likelihood", "decoder_variance"),
    "beta_vae": ("beta", "n_latent", "lr", "hidden", "likelihood", "decoder_variance"),
    "annealed_vae": (
        "gamma",
        "c_max",
        "iteration_threshold",
        "n_latent",
        "lr",
        "hidden",
        "likelihood",
        "decoder_variance",
    ),
    "beta_tcvae": ("beta", "n_latent", "lr", "hidden", "likelihood", "decoder_variance"),
    "factor_vae": (
        "gamma",
        "discriminator_hidden",
        "discriminator_lr",
        "discriminator_betas",
        "n_latent",
        "lr",
        "hidden",
        "likelihood",
        "decoder_variance",
    ),
    "ivae": (
        "n_latent",
        "lr",
        "hidden",
        "prior_hidden",
        "learn_prior_mean",
        "decoder_variance",
        "beta",
    ),
    "infogan": (
        "n_noise",
        "n_continuous",
        "categories",
        "lambda_continuous",
        "lambda_categorical",
        "q_fixed_std",
        "q_hidden",
        "lr_generator",
        "lr_discriminator",
        "betas",
        "spectral_norm",
        "batch_norm",
        "instance_noise",
        "instance_noise_steps",
        "label_smoothing",
        "hidden",
    ),
}


def hyperparameters(method: str) -> tuple[str, ...]:
    """The hyperparameters a spec may set for ``method`` (the names of
    ``disentangle.generative.hyperparameters(method)``); a ValueError names the methods."""
    if method not in GENERATIVE_HYPERPARAMETERS:
        raise ValueError(
            f"method = {method!r}: expected one of {sorted(GENERATIVE_HYPERPARAMETERS)}"
        )
    return GENERATIVE_HYPERPARAMETERS[method]
