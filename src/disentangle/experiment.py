"""An experiment = one ensemble of networks: an architecture, a task variant, task counts × seeds.

``ExperimentSpec.from_dict`` takes one resolved entry of ``config['experiments']`` (defaults
already merged, see ``disentangle.config``). The spec is what training depends on; its hash guards
checkpoints, and ``members()`` fixes the order of networks inside the ensemble.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from disentangle.tasks.spec import UNIT_NOISE_ARCHITECTURES, TaskSpec


@dataclass(frozen=True)
class TrainingSpec:
    """Optimiser and schedule; the paper: Adam, lr 1e-3, batches of 16 trials, 1e5 batches."""

    n_batches: int = 10_000
    batch_size: int = 16
    lr: float = 1e-3
    checkpoint_every: int = 1000
    log_every: int = 500


@dataclass(frozen=True)
class Member:
    """One network of an ensemble, identified by its task count and seed."""

    n_tasks: int
    seed: int


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    architecture: str = "leaky_rnn"
    hidden_size: int = 64
    n_tasks: tuple[int, ...] = (2, 3, 6, 12, 24)
    seeds: tuple[int, ...] = (0, 1, 2)
    task: TaskSpec = field(default_factory=TaskSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)

    def __post_init__(self) -> None:
        if self.task.noise == "units" and self.architecture not in UNIT_NOISE_ARCHITECTURES:
            raise ValueError(
                f"task.noise = 'units' needs a ReLU RNN ({', '.join(UNIT_NOISE_ARCHITECTURES)}), "
                f"whose units' pre-activation takes the noise; got architecture "
                f"{self.architecture!r}"
            )

    @classmethod
    def from_dict(cls, name: str, d: dict) -> ExperimentSpec:
        known = {
            "architecture",
            "hidden_size",
            "n_tasks",
            "seeds",
            "task",
            "training",
            "description",
        }
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"experiment {name!r}: unknown keys {sorted(unknown)}")
        return cls(
            name=name,
            architecture=d.get("architecture", "leaky_rnn"),
            hidden_size=int(d.get("hidden_size", 64)),
            n_tasks=tuple(int(n) for n in d.get("n_tasks", (2, 3, 6, 12, 24))),
            seeds=tuple(int(s) for s in d.get("seeds", (0, 1, 2))),
            task=TaskSpec.from_dict(d.get("task", {})),
            training=TrainingSpec(**d.get("training", {})),
        )

    def to_dict(self) -> dict:
        """JSON-ready form (the inverse of ``from_dict`` up to the name)."""
        d = asdict(self)
        d.pop("name")
        d["n_tasks"], d["seeds"] = list(self.n_tasks), list(self.seeds)
        return d

    def members(self) -> list[Member]:
        """Networks in ensemble order: task counts outer, seeds inner."""
        return [Member(n, s) for n in self.n_tasks for s in self.seeds]

    def digest(self) -> str:
        """A short stable hash of everything that determines the trained networks."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def columns(self) -> dict:
        """The settings every results row carries, so each number can be traced to its config."""
        return {
            "experiment": self.name,
            "architecture": self.architecture,
            "hidden_size": self.hidden_size,
            **self.task.to_dict(),
            "train_batches": self.training.n_batches,
            "spec_hash": self.digest(),
        }
