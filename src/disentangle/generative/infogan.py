"""InfoGAN (Chen et al. 2016, "InfoGAN: Interpretable Representation Learning by Information
Maximizing Generative Adversarial Nets"); reference notes section 4.

Generator G(z, c): noise z ~ N(0, I) (``n_noise``) and a structured code c made of
``n_continuous`` Uniform(−1, 1) codes and one uniform categorical code per entry of
``categories``. Discriminator: a shared body (dlib's conv encoder body with leaky-ReLU for images,
an MLP for vectors) with a real/fake logit head D and a Q head (a Gaussian mean per continuous
code, logits per categorical code). Objective: min_{G,Q} max_D V_GAN − λ·L_I with the
mutual-information lower bound L_I = E[log Q(c | G(z, c))] + H(c) (λ_categorical for the
categorical codes, λ_continuous for the continuous ones).

Implementation choices (after the authors' release): non-saturating GAN losses; both optimisers
minimise their adversarial loss − λ·L_I, the discriminator's over body + D head + Q head, the
generator's over G; Adam β1 = 0.5, lr 2e-4 (discriminator) and 1e-3 (generator); Q's continuous
codes have a fixed unit variance (``q_fixed_std=True``), otherwise a learned log-variance. Both
groups update simultaneously from one forward pass. Images: G is dlib's deconv decoder followed by
a sigmoid (pixel intensities in [0, 1]); vectors: an MLP with a linear output.
Defaults [chosen, not from a reference]: 5 continuous codes, 5 noise dimensions, no categorical
code, λ = 1 for both kinds. ``represent`` returns Q's estimate of c: the continuous means, then
each categorical code's probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from disentangle.generative.base import GenerativeModel, adam_settings, scalar
from disentangle.generative.losses import gaussian_log_density
from disentangle.generative.networks import (
    CONV_FEATURES,
    DEFAULT_HIDDEN,
    MLP,
    ConvBody,
    glorot_init_,
    is_image_shape,
    make_decoder,
)


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
        lr_generator: float = 1e-3,
        lr_discriminator: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
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
        self.n_noise, self.n_continuous = int(n_noise), int(n_continuous)
        self.lambda_continuous = float(lambda_continuous)
        self.lambda_categorical = float(lambda_categorical)
        self.q_fixed_std = bool(q_fixed_std)
        self.image = is_image_shape(observation_shape)
        n_in = self.n_noise + self.n_continuous + sum(self.categories)
        self.synthesis = make_decoder(n_in, observation_shape, hidden)
        if self.image:
            self.body: nn.Module = ConvBody(self.observation_shape[0], "leaky_relu")
            width = CONV_FEATURES
        else:
            self.body = MLP(self.observation_shape[0], hidden[-1], hidden[:-1], "leaky_relu", True)
            width = int(hidden[-1])
        self.d_head = nn.Linear(width, 1)
        n_q = self.n_continuous * (1 if self.q_fixed_std else 2) + sum(self.categories)
        self.q_head = nn.Linear(width, n_q)
        for part in (self.synthesis, self.body, self.d_head, self.q_head):
            glorot_init_(part, generator)
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

    def losses(
        self, x: torch.Tensor, u: torch.Tensor | None, step: int, generator: torch.Generator
    ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        n = x.shape[0]
        noise, c_cont, c_cat = (t.to(x.device) for t in self.sample_codes(n, generator))
        fake = self.generate(noise, c_cont, c_cat)
        real_logit = self.d_head(self.body(x)).squeeze(1)
        h_fake = self.body(fake)
        fake_logit = self.d_head(h_fake).squeeze(1)
        ones, zeros = torch.ones_like(real_logit), torch.zeros_like(real_logit)
        d_adv = F.binary_cross_entropy_with_logits(
            real_logit, ones
        ) + F.binary_cross_entropy_with_logits(fake_logit, zeros)
        g_adv = F.binary_cross_entropy_with_logits(fake_logit, ones)
        mean, logvar, logits = self.q_outputs(h_fake)
        mi_cont, mi_cat = mutual_information_bound(
            mean, logvar, logits, c_cont, c_cat, self.categories
        )
        info = self.lambda_continuous * mi_cont + self.lambda_categorical * mi_cat
        logs = {
            "discriminator_loss": scalar(d_adv),
            "generator_loss": scalar(g_adv),
            "mi_continuous": scalar(mi_cont),
            "mi_categorical": scalar(mi_cat),
        }
        return {"generator": g_adv - info, "discriminator": d_adv - info}, logs

    @torch.no_grad()
    def represent(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        mean, _, logits = self.q_outputs(self.body(x))
        return torch.cat([mean, *(F.softmax(lg, dim=1) for lg in logits)], dim=1)
