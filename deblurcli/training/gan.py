"""Adversarial fine-tuning for the attention-GAN generator: a spectral-norm PatchGAN discriminator
with the hinge loss, updated once per generator step (before it, on the current fake)."""

from __future__ import annotations

import torch

from ..archs.attgan import PatchDiscriminator
from . import losses
from .config import TrainConfig


class Adversary:
    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.disc = PatchDiscriminator()
        self.opt = torch.optim.Adam(self.disc.parameters(), lr=cfg.lr, betas=(0.5, 0.999))

    def state_dict(self) -> dict:
        return {"disc": self.disc.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, st: dict) -> None:
        self.disc.load_state_dict(st["disc"])
        self.opt.load_state_dict(st["opt"])

    def step(self, model: torch.nn.Module, b: dict[str, torch.Tensor], step: int, cfg: TrainConfig) -> torch.Tensor:
        fake = model(b["blur"])
        loss = losses.content(fake, b["sharp"])
        if step < cfg.adversarial_after:
            return loss
        self.disc.train()
        self.opt.zero_grad(set_to_none=True)
        d_real = self.disc(b["blur"], b["sharp"]).float()
        d_fake = self.disc(b["blur"], fake.detach()).float()
        d_loss = torch.relu(1 - d_real).mean() + torch.relu(1 + d_fake).mean()
        d_loss.backward()
        self.opt.step()
        g_adv = -self.disc(b["blur"], fake).float().mean()
        return loss + cfg.adv_weight * g_adv
