"""Losses per paper.

- DPA (distortion prior): the paper gives no loss; we use multi-scale L1 over its pyramid outputs
  (weights 1, 0.5, 0.25), for both the blind and the calibrated prior. With ``prior_aux`` > 0, an
  auxiliary L1 (``prior_moments``) makes the first 3 channels of both DPE Nets' coarsest prior
  (``PRIOR_AUX_LEVEL``), averaged per prior-grid cell, predict the local PSF's size and shape (our addition: the paper leaves the prior
  unsupervised; ours learned to ignore it, so the calibration pair added nothing).
- MTWD: multi-scale MSE with α = (1, 1, 5) from coarsest to finest (paper eq. 2-3).
- LCNet and the attention GAN: L1 + 0.1 × content loss. The papers' content loss uses VGG-19 features,
  which cannot be had offline; we substitute a frequency-domain L1 (|FFT(x) − FFT(y)|, as in MIMO-UNet),
  which like the VGG term penalises lost high-frequency detail.
- SVBR-Net: 1 − mean per-channel SSIM (eq. 2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..archs.dpa import grid_mean
from ..metrics import ssim


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.float() - b.float()).abs().mean()


def fft_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    fa, fb = torch.fft.rfft2(a.float()), torch.fft.rfft2(b.float())
    return (fa - fb).abs().mean() / (a.shape[-1] * a.shape[-2]) ** 0.5


def down_like(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if t.shape[-2:] == like.shape[-2:]:
        return t
    return F.interpolate(t, size=like.shape[-2:], mode="bilinear", align_corners=False, antialias=True)


def multiscale(outs: list[torch.Tensor], target: torch.Tensor, weights: tuple[float, ...], kind: str = "l1") -> torch.Tensor:
    """``outs`` finest first; ``weights`` finest first."""
    total = torch.zeros((), device=target.device)
    for o, w in zip(outs, weights):
        t = down_like(target, o)
        total = total + w * (l1(o, t) if kind == "l1" else F.mse_loss(o.float(), t.float()))
    return total


# The prior level that predicts the PSF: the coarsest, the only one whose receptive field spans a
# large PSF (the finest level's is about 9 px; supervised there from 7,000 to 9,000 steps, its
# prediction stayed worse than a constant).
PRIOR_AUX_LEVEL = -1


def psf_descriptor(moments: torch.Tensor) -> torch.Tensor:
    """(B, 3, …) second moments (E[x²], E[y²], E[xy], px²) -> (σx/4, σy/4, correlation): O(1) values."""
    mxx, myy, mxy = moments[:, 0].clamp_min(0), moments[:, 1].clamp_min(0), moments[:, 2]
    sx, sy = mxx.sqrt(), myy.sqrt()
    return torch.stack([sx / 4, sy / 4, mxy / (sx * sy + 0.25)], 1)


def prior_moments(prior: torch.Tensor, moments: torch.Tensor, ok: torch.Tensor, grid: int) -> torch.Tensor:
    """L1 between the prior's first 3 channels and the PSF descriptor, per ``grid``×``grid`` cell, over
    the samples whose PSF is known (``ok`` = 1)."""
    pred = prior[:, :3] if prior.shape[-1] == grid else grid_mean(prior[:, :3], grid)
    target = psf_descriptor(grid_mean(moments, grid))
    err = (pred.float() - target).abs().mean((1, 2, 3))
    return (err * ok).sum() / ok.sum().clamp_min(1)


def content(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return l1(a, b) + 0.1 * fft_l1(a, b)


def ssim_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 1 - ssim(a.clamp(0, 1), b).mean()
