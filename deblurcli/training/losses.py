"""Losses per paper.

- DPA (distortion prior): the paper gives no loss; we use multi-scale L1 over its pyramid outputs
  (weights 1, 0.5, 0.25), for both the blind and the calibrated prior.
- MTWD: multi-scale MSE with α = (1, 1, 5) from coarsest to finest (paper eq. 2-3).
- LCNet and the attention GAN: L1 + 0.1 × content loss. The papers' content loss uses VGG-19 features,
  which cannot be had offline; we substitute a frequency-domain L1 (|FFT(x) − FFT(y)|, as in MIMO-UNet),
  which like the VGG term penalises lost high-frequency detail.
- SVBR-Net: 1 − mean per-channel SSIM (eq. 2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

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


def content(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return l1(a, b) + 0.1 * fft_l1(a, b)


def ssim_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 1 - ssim(a.clamp(0, 1), b).mean()
