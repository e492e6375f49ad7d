"""InfoGAN (Chen et al. 2016, "InfoGAN: Interpretable Representation Learning by Information
Maximizing Generative Adversarial Nets"); reference notes section 4.

Generator G(z, c): noise z ~ N(0, I) (``n_noise``) and a structured code c made of
``n_continuous`` Uniform(−1, 1) codes and one uniform categorical code per entry of
``categories``. Discriminator: a shared body (dlib's conv encoder body with leaky-ReLU for images,
an MLP for vectors) with a real/fake logit head D and a Q head (a hidden layer of ``q_hidden``
leaky-ReLU units, then a Gaussian mean per continuous code and logits per categorical code).
Objective: min_{G,Q} max_D V_GAN − λ·L_I with the mutual-information lower bound
L_I = E[log Q(c | G(z, c))] + H(c) (λ_categorical for the categorical codes, λ_continuous for the
continuous ones).

Training: non-saturating GAN losses; the discriminator group (body, D and Q heads) minimises
d_adv − λ·L_I and the generator group minimises g_adv − λ·L_I, both from one forward pass
(simultaneous updates, ``train.apply_gradients``); Adam β1 = 0.5, lr 2e-4 (discriminator) and
1e-3 (generator), the InfoGAN paper's settings (its appendix C). Q's continuous codes have a fixed
unit variance (``q_fixed_std=True``, as the authors' release and InfoGAN-CR's dSprites runs),
otherwise a learned log-variance.

Stabilisers (issue 28: without them the discriminator wins within 200 steps on dSprites, its loss
falls to 1e-3, the generator's climbs to 7 and the information term stays at chance, −1.97 nats for
5 codes, so the codes carry nothing):

- ``spectral_norm`` (default on): every weight of the discriminator side (body, D and Q heads) is
  divided by its largest singular value, one power iteration per training forward pass (Miyato et
  al. 2018, "Spectral Normalization for GANs"). It bounds how sharply D can react to a small pixel
  change, so D cannot separate the binary dSprites frames from the generator's sigmoid outputs by
  their grey levels alone. InfoGAN-CR's dSprites discriminator (Lin et al. 2020, the
  disentanglement literature's InfoGAN on dSprites, ``fjxmlzn/InfoGAN-CR``) uses it the same way.
- ``batch_norm`` (default on, images): batch normalisation after every hidden layer of the
  generator, as the InfoGAN paper's generators (appendix C) and InfoGAN-CR's dSprites decoder
  (DCGAN's recipe, Radford et al. 2016). The generator's layer sizes stay dlib's decoder's.
- ``q_hidden`` (default 128): Q's own hidden layer (InfoGAN paper: FC 128 before Q's output;
  InfoGAN-CR: 128).
- ``instance_noise`` (default 0, off): Gaussian noise of this standard deviation added to both
  real and generated images before the discriminator, decayed linearly to 0 over
  ``instance_noise_steps`` (Sønderby et al. 2017; Arjovsky & Bottou 2017). Not needed with
  spectral normalisation in our runs; kept for the long-budget runs that might need it.
- ``label_smoothing`` (default 0, off): one-sided, the discriminator's real target is
  1 − label_smoothing (Salimans et al. 2016).

Defaults [chosen, not from a reference]: 5 continuous codes, 5 noise dimensions, no categorical
code, λ = 1 for both kinds (InfoGAN paper: λ = 1 for discrete codes, "smaller" for continuous ones
at larger scales; with a fixed unit variance the continuous term spans under 1 nat, so λ = 1 keeps
it on the GAN loss's scale). For dSprites, ``categories: [3]`` adds a code for the three shapes.
``represent`` returns Q's estimate of c: the continuous means, then each categorical code's
probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from disentangle.generative import networks
from disentangle.generative.base import GenerativeModel, adam_settings, scalar
from disentangle.generative.losses import gaussian_log_density
from disentangle.generative.networks import (
    CONV_FEATURES,
    DEFAULT_HIDDEN,
    MLP,
    ConvBody,
    activation_module,
    glorot_init_,
    is_image_shape,
    make_decoder,
)

SN_EPS = 1e-12  # guards the normalisation of the power-iteration vectors (torch's default)
SN_INIT_ITERATIONS = 15  # power iterations at construction, as torch's spectral_norm


def mutual_information_bound(
    q_cont_mean: torch.Tensor,
    q_cont_logvar: torch.Tensor,
    q_cat_logits: Sequence[torch.Tensor],
    c_cont: torch.Tensor,
    c_cat: torch.Tensor,
    categories: Sequence[int],
) -> tuple[torch.Tensor, torch.Tensor]:
    """InfoGAN's L_I = E log Q(c | x) + H(c), batch mean, for the continuous and categorical parts.

    c_cont ~ U(−1, 1)^k has entropy k·log 2; a uniform K-way code has entropy log K. Each part is
    at most its code's entropy (reached when Q recovers c exactly, for the categorical part).
    """
    cont = gaussian_log_density(c_cont, q_cont_mean, q_cont_logvar).sum(dim=1).mean()
    cont = cont + c_cont.shape[1] * math.log(2.0)
    cat = c_cont.new_zeros(())
    for k, (logits, size) in enumerate(zip(q_cat_logits, categories, strict=True)):
        log_q = F.log_softmax(logits, dim=1).gather(1, c_cat[:, k : k + 1]).mean()
        cat = cat + log_q + math.log(size)
    return cont, cat


def information_bound_limits(
    n_continuous: int, categories: Sequence[int], q_fixed_std: bool = True
) -> dict[str, float]:
    """The values of L_I's parts at chance (Q ignores the image) and at their maximum, so that a
    logged bound can be read as a fraction of the way from "the codes carry nothing" to "Q
    recovers them exactly" (``health``).

    Continuous, fixed unit variance: log N(c; μ, 1) + log 2 per code, at most −½ log 2π + log 2
    (μ = c) and −½ log 2π − 1/6 + log 2 at chance (μ = E c = 0, E c² = 1/3); 5 codes: −1.13 and
    −1.96 nats. With a learned variance the best constant Q is N(0, 1/3) at chance and the bound
    has no finite maximum (a perfect Q shrinks its variance to 0): +inf. Categorical: 0 at
    chance, Σ log K at the maximum.
    """
    half_log_2pi = 0.5 * math.log(2.0 * math.pi)
    per_code_max = -half_log_2pi + math.log(2.0) if q_fixed_std else math.inf
    # chance with a learned variance: the best constant Q is N(0, 1/3), log-density −½ log(2π/3) − ½
    per_code_chance = (
        -half_log_2pi - 1.0 / 6.0 + math.log(2.0)
        if q_fixed_std
        else -0.5 * math.log(2.0 * math.pi / 3.0) - 0.5 + math.log(2.0)
    )
    return {
        "continuous_chance": n_continuous * per_code_chance,
        "continuous_max": n_continuous * per_code_max,
        "categorical_chance": 0.0,
        "categorical_max": float(sum(math.log(k) for k in categories)),
    }


class SpectralNormalization(nn.Module):
    """A parametrization W ↦ W / σ(W), σ the largest singular value of W viewed as (out, rest).

    σ comes from the power method (Miyato et al. 2018): u is a buffer, refined by one iteration
    at every training-mode forward pass (u and v are constants for the gradient); eval mode reuses
    the stored u. Written here rather than taken from ``torch.nn.utils.parametrizations`` because
    torch draws its starting vector from the global random state; ours comes from the model's
    seeded ``generator``, so two builds of one seed are identical.
    """

    def __init__(self, weight: torch.Tensor, generator: torch.Generator):
        super().__init__()
        matrix = weight.detach().flatten(1)
        u = torch.randn(matrix.shape[0], generator=generator, dtype=matrix.dtype)
        self.register_buffer("u", F.normalize(u, dim=0, eps=SN_EPS).to(matrix.device))
        for _ in range(SN_INIT_ITERATIONS):
            self._power_iteration(matrix)

    @torch.no_grad()
    def _power_iteration(self, matrix: torch.Tensor) -> None:
        v = F.normalize(matrix.t() @ self.u, dim=0, eps=SN_EPS)
        self.u.copy_(F.normalize(matrix @ v, dim=0, eps=SN_EPS))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        matrix = weight.flatten(1)
        if self.training:
            self._power_iteration(matrix.detach())
        u = self.u.clone()  # the in-place update must not touch a tensor autograd saved
        v = F.normalize(matrix.detach().t() @ u, dim=0, eps=SN_EPS)
        sigma = torch.dot(u, matrix @ v)
        return weight / sigma


def spectral_norm_(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Spectrally normalise the weight of every dense and conv layer of ``module`` (in place)."""
    for layer in list(module.modules()):
        if isinstance(layer, nn.Linear | nn.Conv2d):
            parametrize.register_parametrization(
                layer, "weight", SpectralNormalization(layer.weight, generator)
            )
    return module


class ImageGenerator(nn.Module):
    """dlib's deconv decoder with batch normalisation after every hidden layer (optional):
    (n, n_in) → logits (n, C, 64, 64). Dense 256 → dense 1024 → 64×4×4 → deconv 64 → 32 → 32 →
    C, 4×4 kernels, stride 2, ReLU (the sizes of ``networks.DeconvDecoder``)."""

    def __init__(self, n_in: int, n_channels: int = 1, batch_norm: bool = True):
        super().__init__()
        self.dense = nn.ModuleList([nn.Linear(n_in, 256), nn.Linear(256, 1024)])
        self.dense_norms = nn.ModuleList(
            [nn.BatchNorm1d(256), nn.BatchNorm1d(1024)] if batch_norm else []
        )
        widths = [64, 64, 32, 32, n_channels]
        self.deconvs = nn.ModuleList(
            [
                nn.ConvTranspose2d(a, b, kernel_size=4, stride=2, padding=1)
                for a, b in zip(widths[:-1], widths[1:], strict=True)
            ]
        )
        self.deconv_norms = nn.ModuleList(
            [nn.BatchNorm2d(b) for b in widths[1:-1]] if batch_norm else []
        )
        # read at call time, as networks.DeconvDecoder does (benchmarks/generative_step.py
        # switches it to time the layouts)
        self.deconvs.to(memory_format=networks.CONV_MEMORY_FORMAT)
        self.deconv_norms.to(memory_format=networks.CONV_MEMORY_FORMAT)
        self.act = activation_module("relu")
        self.batch_norm = bool(batch_norm)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for i, layer in enumerate(self.dense):
            h = layer(h)
            h = self.act(self.dense_norms[i](h) if self.batch_norm else h)
        h = h.view(-1, 64, 4, 4).contiguous(memory_format=networks.CONV_MEMORY_FORMAT)
        for i, deconv in enumerate(self.deconvs):
            h = deconv(h)
            if i < len(self.deconvs) - 1:
                h = self.act(self.deconv_norms[i](h) if self.batch_norm else h)
        return h


class InfoGAN(GenerativeModel):
    """Generator G(z, c) and a discriminator body with D and Q heads."""

    def __init__(
        self,
        observation_shape: Sequence[int],
        *,
        generator: torch.Generator,
        n_noise: int = 5,
        n_continuous: int = 5,
        categories: Sequence[int] = (),
        lambda_continuous: float = 1.0,
        lambda_categorical: float = 1.0,
        q_fixed_std: bool = True,
        q_hidden: int = 128,
        lr_generator: float = 1e-3,
        lr_discriminator: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        spectral_norm: bool = True,
        batch_norm: bool = True,
        instance_noise: float = 0.0,
        instance_noise_steps: int = 1,
        label_smoothing: float = 0.0,
        hidden: Sequence[int] = DEFAULT_HIDDEN,
        n_aux: int = 0,
    ):
        super().__init__(observation_shape, n_aux)
        self.categories = tuple(int(k) for k in categories)
        if min(self.categories, default=2) < 2:
            raise ValueError(f"categories = {categories}: expected category counts >= 2")
        if int(n_noise) < 0 or int(n_continuous) < 0:
            raise ValueError(
                f"n_noise = {n_noise}, n_continuous = {n_continuous}: expected integers >= 0"
            )
        if int(n_continuous) + len(self.categories) == 0:
            raise ValueError("n_continuous = 0 and categories = (): InfoGAN needs a code c")
        if not lambda_continuous >= 0 or not lambda_categorical >= 0:
            raise ValueError(
                f"lambda_continuous = {lambda_continuous}, lambda_categorical = "
                f"{lambda_categorical}: expected non-negative weights"
            )
        if int(q_hidden) < 0:
            raise ValueError(f"q_hidden = {q_hidden}: expected an integer >= 0 (0: linear Q)")
        if not instance_noise >= 0 or int(instance_noise_steps) < 1:
            raise ValueError(
                f"instance_noise = {instance_noise}, instance_noise_steps = "
                f"{instance_noise_steps}: expected a standard deviation >= 0 and steps >= 1"
            )
        if not 0 <= label_smoothing < 0.5:
            raise ValueError(f"label_smoothing = {label_smoothing}: expected a number in [0, 0.5)")
        self.n_noise, self.n_continuous = int(n_noise), int(n_continuous)
        self.lambda_continuous = float(lambda_continuous)
        self.lambda_categorical = float(lambda_categorical)
        self.q_fixed_std = bool(q_fixed_std)
        self.instance_noise = float(instance_noise)
        self.instance_noise_steps = int(instance_noise_steps)
        self.label_smoothing = float(label_smoothing)
        self.image = is_image_shape(observation_shape)
        n_in = self.n_noise + self.n_continuous + sum(self.categories)
        if self.image:
            self.synthesis: nn.Module = ImageGenerator(n_in, self.observation_shape[0], batch_norm)
            self.body: nn.Module = ConvBody(self.observation_shape[0], "leaky_relu")
            width = CONV_FEATURES
        else:
            self.synthesis = make_decoder(n_in, observation_shape, hidden)
            self.body = MLP(self.observation_shape[0], hidden[-1], hidden[:-1], "leaky_relu", True)
            width = int(hidden[-1])
        self.d_head = nn.Linear(width, 1)
        n_q = self.n_continuous * (1 if self.q_fixed_std else 2) + sum(self.categories)
        self.q_head: nn.Module = (
            MLP(width, n_q, (int(q_hidden),), "leaky_relu") if q_hidden else nn.Linear(width, n_q)
        )
        for part in (self.synthesis, self.body, self.d_head, self.q_head):
            glorot_init_(part, generator)
        if spectral_norm:  # after the init: the parametrization keeps the drawn weight as is
            for part in (self.body, self.d_head, self.q_head):
                spectral_norm_(part, generator)
        self.adam_g = adam_settings(lr_generator, betas)
        self.adam_d = adam_settings(lr_discriminator, betas)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        d = [*self.body.parameters(), *self.d_head.parameters(), *self.q_head.parameters()]
        return {"generator": list(self.synthesis.parameters()), "discriminator": d}

    def optimizer_settings(self) -> dict[str, dict]:
        return {"generator": dict(self.adam_g), "discriminator": dict(self.adam_d)}

    def sample_codes(
        self, n: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Noise (n, n_noise), continuous codes (n, n_continuous) and categories (n, n_cat)."""
        noise = torch.randn((n, self.n_noise), generator=generator)
        c_cont = torch.rand((n, self.n_continuous), generator=generator) * 2.0 - 1.0
        cats = [torch.randint(0, k, (n, 1), generator=generator) for k in self.categories]
        c_cat = torch.cat(cats, dim=1) if cats else torch.zeros((n, 0), dtype=torch.long)
        return noise, c_cont, c_cat

    def generate(
        self, noise: torch.Tensor, c_cont: torch.Tensor, c_cat: torch.Tensor
    ) -> torch.Tensor:
        """G(z, c): images in [0, 1] (sigmoid of the decoder's logits) or vectors."""
        onehots = [F.one_hot(c_cat[:, k], size).float() for k, size in enumerate(self.categories)]
        out = self.synthesis(torch.cat([noise, c_cont, *onehots], dim=1))
        return torch.sigmoid(out) if self.image else out

    def q_outputs(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Q head on body features: continuous mean, log-variance and categorical logits."""
        q = self.q_head(h)
        k = self.n_continuous
        mean = q[:, :k]
        if self.q_fixed_std:
            logvar, rest = torch.zeros_like(mean), q[:, k:]
        else:
            logvar, rest = q[:, k : 2 * k], q[:, 2 * k :]
        logits = list(torch.split(rest, list(self.categories), dim=1)) if self.categories else []
        return mean, logvar, logits

    def noise_std(self, step: int) -> float:
        """The instance noise's standard deviation at ``step``: linear decay to 0."""
        return self.instance_noise * max(0.0, 1.0 - step / self.instance_noise_steps)

    def losses(
        self, x: torch.Tensor, u: torch.Tensor | None, step: int, generator: torch.Generator
    ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        n = x.shape[0]
        noise, c_cont, c_cat = (t.to(x.device) for t in self.sample_codes(n, generator))
        fake = self.generate(noise, c_cont, c_cat)
        sigma = self.noise_std(step)
        if sigma > 0:  # drawn after the codes: the codes' draws do not depend on the setting
            x = x + sigma * torch.randn(x.shape, generator=generator).to(x.device)
            fake = fake + sigma * torch.randn(fake.shape, generator=generator).to(x.device)
        real_logit = self.d_head(self.body(x)).squeeze(1)
        h_fake = self.body(fake)
        fake_logit = self.d_head(h_fake).squeeze(1)
        ones, zeros = torch.ones_like(real_logit), torch.zeros_like(real_logit)
        d_adv = F.binary_cross_entropy_with_logits(
            real_logit, ones - self.label_smoothing
        ) + F.binary_cross_entropy_with_logits(fake_logit, zeros)
        g_adv = F.binary_cross_entropy_with_logits(fake_logit, ones)  # non-saturating
        mean, logvar, logits = self.q_outputs(h_fake)
        mi_cont, mi_cat = mutual_information_bound(
            mean, logvar, logits, c_cont, c_cat, self.categories
        )
        info = self.lambda_continuous * mi_cont + self.lambda_categorical * mi_cat
        with torch.no_grad():
            accuracy = 0.5 * ((real_logit > 0).float().mean() + (fake_logit < 0).float().mean())
        logs = {
            "discriminator_loss": scalar(d_adv),
            "generator_loss": scalar(g_adv),
            "mi_continuous": scalar(mi_cont),
            "mi_categorical": scalar(mi_cat),
            "discriminator_accuracy": scalar(accuracy),
        }
        return {"generator": g_adv - info, "discriminator": d_adv - info}, logs

    @torch.no_grad()
    def represent(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        mean, _, logits = self.q_outputs(self.body(x))
        return torch.cat([mean, *(F.softmax(lg, dim=1) for lg in logits)], dim=1)
