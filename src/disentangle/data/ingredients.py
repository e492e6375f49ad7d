"""The fixed ingredients of one experiment (the ``data`` stage of the DAG).

For every network of the ensemble: its frozen mixing encoder f and its boundary matrix C; for the
whole experiment: the evaluation trials on which decoders are fitted and tested. All of it is
derived from named seeds, so the file can always be regenerated bit for bit; writing it once makes
the DAG explicit and lets every later stage use exactly the same f, C and trials.

The file holds tensors and plain data only (it loads with ``weights_only=True``) and has a SHA-256
sidecar that ``load_ingredients`` checks (``disentangle.integrity``).
"""

from __future__ import annotations

from disentangle.experiment import ExperimentSpec
from disentangle.io import atomic_torch_save, load_torch
from disentangle.tasks.encoder import init_encoder_member
from disentangle.tasks.evidence import boundary_normals, evaluation_set

FORMAT = "disentangle.ingredients/1"


def make_ingredients(exp: ExperimentSpec, n_train: int, n_test: int, eval_seed: int) -> dict:
    """Encoders, boundaries and the evaluation set of ``exp`` as a dict of tensors and lists."""
    members = exp.members()
    return {
        "format": FORMAT,
        "experiment": exp.name,
        "spec": exp.to_dict(),
        "members": [(m.n_tasks, m.seed) for m in members],
        "encoders": [
            init_encoder_member(exp.task.dim, m.seed, exp.task.encoder, exp.task.frequency)
            for m in members
        ],
        "boundaries": [
            boundary_normals(m.n_tasks, exp.task.dim, exp.task.boundaries, m.seed) for m in members
        ],
        "evaluation": evaluation_set(exp.task, n_train, n_test, eval_seed),
        "evaluation_settings": {"n_train": n_train, "n_test": n_test, "seed": eval_seed},
    }


def write_ingredients(
    exp: ExperimentSpec, path: str, n_train: int, n_test: int, eval_seed: int
) -> None:
    atomic_torch_save(make_ingredients(exp, n_train, n_test, eval_seed), path)


def load_ingredients(path: str) -> dict:
    """The ingredients at ``path``, checked against their SHA-256 sidecar (``IntegrityError`` if
    damaged or unrecorded). The returned dict also has ``sha256``, the digest of the file's bytes
    (not stored in the file), so that what is built from it can record exactly which input it
    read without hashing the file again."""
    obj, digest = load_torch(path, with_digest=True)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path}: not an ingredients file of format {FORMAT}")
    obj["sha256"] = digest
    return obj
