"""The settings of one task variant (``TaskSpec``) and the sizes they imply, without torch: the
config check validates experiments with them before any job runs (``disentangle.config``), and
``disentangle.tasks.evidence`` re-exports them beside the trial generator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: widths of the mixing encoder f's layers (``disentangle.tasks.encoder``); the last is the number
#: of stimulus channels a network sees
ENCODER_WIDTHS: tuple[int, int, int] = (100, 100, 40)
LOSSES = ("bce", "mse", "ddm")
#: decision boundaries: lines through the origin (``even`` orientations, D = 2; ``random`` unit
#: normals), and the authors' nonlinear ones (beyond the paper, D = 2): ``curved`` hyperbolas
#: |x1·x2| = c_k per quadrant, ``concentric`` circles |x| = r_i (``tasks.evidence``)
BOUNDARIES = ("even", "random", "curved", "concentric")
LINEAR_BOUNDARIES = ("even", "random")
#: the trial's noise (``tasks.evidence``): evidence noise added to x* at each step
#: (``sample_noise``): i.i.d. Gaussian (the paper), and the authors' other kinds (beyond the
#: paper): the second latent's sd doubled, AR(1) in time with coefficient 0.7, Gumbel (heavy right
#: tail, not centred); and noise elsewhere, with none on x*: ``input``, Gaussian on every input
#: channel after the encoder, and ``units``, Gaussian in the network's own units (each with sd
#: ``noise_sd``·``OTHER_NOISE_SCALE``)
LATENT_NOISE_KINDS = ("gaussian", "anisotropic", "autocorrelated", "gumbel")
NOISE_KINDS = (*LATENT_NOISE_KINDS, "input", "units")
#: the sd of the ``input`` and ``units`` noise per channel and step, as a multiple of
#: ``noise_sd``: the paper's σ = 0.2 gives 0.1, the authors' input-noise sd
OTHER_NOISE_SCALE = 0.5
#: the architectures whose units can carry ``units`` noise (a pre-activation to add it to)
UNIT_NOISE_ARCHITECTURES = ("leaky_rnn", "nonleaky_rnn")
#: settings that only some variants have: left out of ``to_dict`` (and the job specs) at these
#: values, so that the specs, digests and table columns of every other experiment are unchanged
OMITTED_DEFAULTS = {"frequency": 0.0, "noise": "gaussian"}
#: the mixing encoders f (``disentangle.tasks.encoder``): the paper's ReLU MLP, its x² variant
#: (Fig. S1) and a random-Fourier-feature map with a frequency knob (beyond the paper)
ENCODERS = ("relu", "quadratic", "fourier")


def without_omitted_defaults(task: dict) -> dict:
    """``task`` (a task's settings) less the keys at their ``OMITTED_DEFAULTS`` value."""
    return {
        k: v for k, v in task.items() if not (k in OMITTED_DEFAULTS and v == OMITTED_DEFAULTS[k])
    }


@dataclass(frozen=True)
class TaskSpec:
    """The settings of one task variant; field names match the config keys under ``task``."""

    dim: int = 2
    noise_sd: float = 0.2
    fixation_steps: int = 1
    stimulus_steps: int = 20
    decision_steps: int = 1
    encoder: str = "relu"
    boundaries: str = "even"
    loss: str = "bce"
    correlation: float = 0.0
    ddm_bound: float = 5.0
    #: the ``fourier`` encoder's frequency ω (radians per unit latent): f_k(x) = cos(ω g_k·x + φ_k)
    frequency: float = 0.0
    #: the kind of evidence noise (``NOISE_KINDS``); its scale is ``noise_sd``
    noise: str = "gaussian"

    def __post_init__(self) -> None:
        if self.dim < 1:
            raise ValueError(f"task.dim = {self.dim}: expected an integer >= 1")
        if self.noise_sd < 0:
            raise ValueError(f"task.noise_sd = {self.noise_sd}: expected a number >= 0")
        if self.loss not in LOSSES:
            raise ValueError(f"task.loss = {self.loss!r}: expected one of {LOSSES}")
        if self.loss == "ddm":
            if self.fixation_steps != 0 or self.decision_steps != 0:
                raise ValueError(
                    "task.loss = 'ddm' (free reaction time) has no fixation or decision period: "
                    f"expected fixation_steps = decision_steps = 0, got {self.fixation_steps} "
                    f"and {self.decision_steps}"
                )
            if self.ddm_bound <= 0:
                raise ValueError(f"task.ddm_bound = {self.ddm_bound}: expected a number > 0")
        elif self.decision_steps < 1 or self.fixation_steps < 0:
            raise ValueError(
                "task timing: expected decision_steps >= 1 and fixation_steps >= 0 "
                f"(got {self.decision_steps} and {self.fixation_steps})"
            )
        if self.stimulus_steps < 1:
            raise ValueError(f"task.stimulus_steps = {self.stimulus_steps}: expected >= 1")
        lowest = -1.0 / (self.dim - 1) if self.dim > 1 else 0.0
        if not lowest < self.correlation < 1.0 and self.correlation != 0.0:
            raise ValueError(
                f"task.correlation = {self.correlation}: expected {lowest:.3g} < ρ < 1 "
                f"(an equicorrelation matrix in D = {self.dim} must be positive definite)"
            )
        if self.encoder not in ENCODERS:
            raise ValueError(f"task.encoder = {self.encoder!r}: expected one of {ENCODERS}")
        if self.encoder == "fourier" and not self.frequency > 0:
            raise ValueError(
                f"task.frequency = {self.frequency}: the fourier encoder needs a frequency > 0"
            )
        if self.encoder != "fourier" and self.frequency != 0:
            raise ValueError(
                f"task.frequency = {self.frequency}: only the fourier encoder has a frequency "
                f"(task.encoder = {self.encoder!r})"
            )
        if self.noise not in NOISE_KINDS:
            raise ValueError(f"task.noise = {self.noise!r}: expected one of {NOISE_KINDS}")
        if self.noise not in LATENT_NOISE_KINDS and self.loss == "ddm":
            raise ValueError(
                f"task.noise = {self.noise!r} with task.loss = 'ddm': free reaction time "
                "accumulates the noisy latent evidence, and this kind puts no noise on it"
            )
        if self.boundaries not in BOUNDARIES:
            raise ValueError(f"task.boundaries = {self.boundaries!r}: expected one of {BOUNDARIES}")
        if self.boundaries not in LINEAR_BOUNDARIES:
            if self.dim != 2:
                raise ValueError(
                    f"task.boundaries = {self.boundaries!r} is defined for task.dim = 2 only "
                    f"(got {self.dim})"
                )
            if self.loss == "ddm":
                raise ValueError(
                    f"task.boundaries = {self.boundaries!r} with task.loss = 'ddm': free reaction "
                    "time accumulates evidence along boundary normals, which curved and "
                    "concentric boundaries do not have"
                )
        if self.boundaries == "even" and self.dim != 2:
            raise ValueError(
                f"task.boundaries = 'even' needs task.dim = 2 (got {self.dim}); "
                "use 'random' for D > 2"
            )

    @classmethod
    def from_dict(cls, d: dict) -> TaskSpec:
        return cls(**d)

    def to_dict(self) -> dict:
        """The settings, less those at their ``OMITTED_DEFAULTS`` value (``frequency`` has no
        meaning but for the fourier encoder, ``noise`` is Gaussian unless set): leaving them out
        keeps the specs, digests and table columns of every other experiment as they were."""
        return without_omitted_defaults(asdict(self))

    @property
    def n_steps(self) -> int:
        return self.fixation_steps + self.stimulus_steps + self.decision_steps

    @property
    def has_cue(self) -> bool:
        """The fixation-cue input channel exists except in the free-RT (DDM) task."""
        return self.loss != "ddm"

    @property
    def input_size(self) -> int:
        """The input width the networks' weights take (cue + encoder channels)."""
        return int(self.has_cue) + ENCODER_WIDTHS[-1]

    @property
    def noise_channels(self) -> int:
        """Channels ``build_inputs`` appends after the ``input_size`` ones: 2 with ``units``
        noise (its sd and the trial's key, which the network turns into its units' noise)."""
        return 2 if self.noise == "units" else 0

    @property
    def other_noise_sd(self) -> float:
        """The sd of the ``input`` or ``units`` noise per channel and step (0 for the other
        kinds, whose noise is on x*)."""
        return 0.0 if self.noise in LATENT_NOISE_KINDS else self.noise_sd * OTHER_NOISE_SCALE

    @property
    def stimulus_slice(self) -> slice:
        return slice(self.fixation_steps, self.fixation_steps + self.stimulus_steps)

    @property
    def decision_slice(self) -> slice:
        """The steps whose outputs are the decision (free RT: the last step)."""
        return slice(self.n_steps - max(self.decision_steps, 1), self.n_steps)
