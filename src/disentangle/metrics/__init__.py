"""Metrics on trained representations. ``ood``: the paper's OOD regression generalisation r²."""

from disentangle.metrics.ood import (
    VAR_U,
    final_states,
    information_ceiling,
    ood_generalisation,
    r2_paper,
)

__all__ = ["VAR_U", "final_states", "information_ceiling", "ood_generalisation", "r2_paper"]
