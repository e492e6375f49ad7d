"""Replication of *Disentangling Representations through Multi-task Learning* (ICLR 2025).

Subpackages: ``tasks`` (the evidence-accumulation task and the mixing encoder), ``models``
(ensembles of recurrent networks), ``training`` (the ensemble training loop), ``metrics``
(out-of-distribution regression generalisation, ...), ``figures`` (the shared plotting style).
"""

__version__ = "0.1.0"
