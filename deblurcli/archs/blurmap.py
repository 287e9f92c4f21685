"""Learned defocus blur-map estimator: blurred RGB photo -> per-pixel disk radius (px).

Not one of the five seed papers: SVBR-Net (Karaali & Jung) takes its map from an estimator, and the
paper shows the network stays good when that estimator is accurate. The classical edge-based
estimator (``defocusing.estimate``) measures a radius only at edges and is biased upwards on soft or
noisy content; this small encoder-decoder is trained on the project's own synthetic spatially varying
defocus, whose true radius maps the degradation keeps, with an L1 loss on the radius.

Shape: a 3-level encoder to 1/8 resolution (conv stride 2 + residual blocks), a wide local context
at 1/8 (a box mean over ``context`` cells, concatenated: a tile-safe stand-in for global pooling —
the radius of a flat region can only be judged from edges some distance away), a decoder with skips
to 1/2 resolution, bilinear upsampling to full resolution, and ``r_min + softplus`` so radii stay
positive. The head starts at a ~3 px constant (the middle of the 0.5–6 px training range).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._blocks import ResBlock, conv, local_mean, pad_to_multiple


@dataclass(frozen=True)
class BlurMapConfig:
    channels: tuple[int, int, int, int] = (16, 32, 48, 64)
    context: int = 9  # box-mean window at 1/8 resolution (72 px of the working image)
    r_min: float = 0.5

    @classmethod
    def paper(cls) -> "BlurMapConfig":
        # No paper configuration exists (the estimator is ours); the "large" variant doubles widths.
        return cls(channels=(32, 64, 96, 128))


class BlurMapNet(nn.Module):
    def __init__(self, cfg: BlurMapConfig = BlurMapConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        c0, c1, c2, c3 = cfg.channels
        act = lambda: nn.ReLU(inplace=True)  # noqa: E731
        self.stem = nn.Sequential(conv(3, c0), act(), ResBlock(c0))
        self.d1 = nn.Sequential(conv(c0, c1, 3, 2), act(), ResBlock(c1))
        self.d2 = nn.Sequential(conv(c1, c2, 3, 2), act(), ResBlock(c2))
        self.d3 = nn.Sequential(conv(c2, c3, 3, 2), act(), ResBlock(c3), ResBlock(c3))
        self.ctx = nn.Sequential(conv(2 * c3, c3, 1), act(), ResBlock(c3))
        self.u2 = conv(c3, c2, 1)
        self.r2 = ResBlock(c2)
        self.u1 = conv(c2, c1, 1)
        self.r1 = ResBlock(c1)
        self.head = conv(c1, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.constant_(self.head.bias, math.log(math.expm1(3.0 - cfg.r_min)))

    @staticmethod
    def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = pad_to_multiple(x, 8)
        f0 = self.stem(x)
        f1 = self.d1(f0)
        f2 = self.d2(f1)
        f3 = self.d3(f2)
        f3 = self.ctx(torch.cat([f3, local_mean(f3, self.cfg.context)], 1))
        g2 = self.r2(self.u2(self._up(f3, f2)) + f2)
        g1 = self.r1(self.u1(self._up(g2, f1)) + f1)
        r = self._up(self.head(g1), x)[..., :h, :w]
        return self.cfg.r_min + F.softplus(r.float())
