"""One loss function per arch: (model, batch, step) -> scalar loss. Losses are in ``losses``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..defocusing.maps import degrade_map
from . import losses
from .config import TrainConfig

StepFn = Callable[[nn.Module, dict[str, torch.Tensor], int, TrainConfig], torch.Tensor]


def dpa_step(model: nn.Module, b: dict[str, torch.Tensor], step: int, cfg: TrainConfig) -> torch.Tensor:
    w = (1.0, 0.5, 0.25)
    blind_prior = model.blind_prior(b["blur"])
    blind = losses.multiscale(model.forward_levels(b["blur"], blind_prior), b["sharp"], w)
    prior = model.estimate_prior(b["cal_sharp"], b["cal_blur"])
    cal = losses.multiscale(model.forward_levels(b["blur"], prior), b["sharp"], w)
    if cfg.prior_aux <= 0:
        return blind + cal
    if model.cfg.prior_channels < 3:
        raise ValueError("prior_aux needs prior_channels >= 3 (the PSF descriptor has 3 values)")
    g = model.cfg.prior_grid
    lv = losses.PRIOR_AUX_LEVEL
    aux = sum(losses.prior_moments(p[lv], b["moments"], b["moments_ok"], g) for p in (blind_prior, prior))
    return blind + cal + cfg.prior_aux * aux


def mtwd_step(model: nn.Module, b: dict[str, torch.Tensor], step: int, cfg: TrainConfig) -> torch.Tensor:
    return losses.multiscale(model.forward_levels(b["blur"]), b["sharp"], (5.0, 1.0, 1.0), kind="mse")


def content_step(model: nn.Module, b: dict[str, torch.Tensor], step: int, cfg: TrainConfig) -> torch.Tensor:
    return losses.content(model(b["blur"]), b["sharp"])


def svbr_step(model: nn.Module, b: dict[str, torch.Tensor], step: int, cfg: TrainConfig) -> torch.Tensor:
    radius = b["radius"]
    if 0 <= cfg.map_degrade_after <= step:
        # Phase 2 (the paper's "interpolated PSFs"): half of the maps are degraded like an estimator's
        # output — true values kept at edges only, propagated edge-aware — half stay true.
        rng = np.random.default_rng([cfg.seed, step, 7])
        maps = []
        for r, im in zip(radius, b["blur"]):
            keep = rng.random() < 0.5
            if keep:
                maps.append(r[0])
                continue
            m = degrade_map(r[0].float().numpy(), im.float().permute(1, 2, 0).numpy(), rng)
            # An estimator's error is also a bias over the whole photo: scale by exp(U(-j, j)).
            maps.append(m * float(np.exp(rng.uniform(-cfg.map_scale_jitter, cfg.map_scale_jitter))))
        radius = torch.stack(maps).unsqueeze(1)
    return losses.ssim_loss(model(b["blur"], radius), b["sharp"])


def blurmap_step(model: nn.Module, b: dict[str, torch.Tensor], step: int, cfg: TrainConfig) -> torch.Tensor:
    """L1 on the radius (px); already-sharp samples carry radius 0, clamped to the net's floor."""
    target = b["radius"].float().clamp(min=model.cfg.r_min)
    return (model(b["blur"]) - target).abs().mean()


def perturb_kernels(k: torch.Tensor, rng: np.random.Generator, p: float = 0.3) -> torch.Tensor:
    """With probability ``p`` per sample, the kernel as a blind estimate gets it: a little wider or
    narrower (resampled ×0.9-1.1), a spurious speckle of noise on its support, renormalised. Trains the
    non-blind net to forgive the estimator's errors (``deblur --method kernel``)."""
    out = k.clone()
    s = k.shape[-1]
    for i in range(k.shape[0]):
        if rng.random() >= p:
            continue
        ki = k[i : i + 1]
        f = float(rng.uniform(0.9, 1.1))
        n = int(round(s * f)) | 1
        r = F.interpolate(ki, size=(n, n), mode="bilinear", align_corners=False)
        r = F.pad(r, ((s - n) // 2,) * 4) if n < s else r[..., (n - s) // 2 : (n - s) // 2 + s, (n - s) // 2 : (n - s) // 2 + s]
        noise = torch.from_numpy(rng.random((1, 1, s, s), dtype=np.float32)) * float(r.max()) * 0.05
        r = (r + noise * (F.max_pool2d(r, 5, 1, 2) > 0)).clamp(min=0)
        out[i : i + 1] = r / r.sum()
    return out


def hqs_step(model: nn.Module, b: dict[str, torch.Tensor], step: int, cfg: TrainConfig) -> torch.Tensor:
    rng = np.random.default_rng([cfg.seed, step, 11])
    return losses.l1(model(b["blur"], perturb_kernels(b["kernel"], rng), b["sigma"]), b["sharp"])


STEPS: dict[str, StepFn] = {
    "dpa": dpa_step,
    "mtwd": mtwd_step,
    "lcnet": content_step,
    "attgan": content_step,
    "svbr": svbr_step,
    "blurmap": blurmap_step,
    "hqs": hqs_step,
}
