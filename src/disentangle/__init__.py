"""Replication of *Disentangling Representations through Multi-task Learning* (ICLR 2025).

Subpackages: ``tasks`` (the evidence-accumulation task and the mixing encoder), ``models``
(ensembles of recurrent networks and GPT-2), ``training`` (the ensemble training loop),
``metrics`` (out-of-distribution regression generalisation and the disentanglement metrics),
``analysis`` (dynamics, tuning, sparsity, decoder geometry), ``theory`` (the paper's closed forms),
``generative`` (the β-VAE family, iVAE, InfoGAN), ``figures`` (the shared plotting style), and
``jobs`` (one module per workflow command, ``python -m disentangle <command>``; ``cli`` parses and
dispatches). ``config`` checks the workflow's configuration without importing torch.
"""

__version__ = "0.1.0"
