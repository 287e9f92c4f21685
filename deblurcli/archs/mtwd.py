"""MTWD Net — Cheng et al., "Multi-scale two-way deblurring network for non-uniform single image deblurring".

Coarse-to-fine over 3 scales (×1, ×1/2, ×1/4, bilinear). At every scale one encoder-decoder takes the
blurred image at that scale concatenated with the upsampled restoration of the coarser scale (the
coarsest takes the blurred image twice). Encoder: per level a conv (stride 2 below the first level) +
3 residual blocks. Decoder: two branches — "up", a transposed conv + 3 residual blocks per level with
skip connections from the encoder, and "down", the same without any skip; the output is the sum of
the two branches' images (eq. 1). Loss: multi-scale MSE with α = (1, 1, 5), finest weighted most.

Choices the paper leaves open, and deviations:
- The encoder-decoder weights are shared across scales (as in SRN, the design MTWD builds on).
- The "up" branch adds the scale's blurred input to its image (global residual), so an untrained
  network starts near the identity; the "down" branch still restores "from a blank image".
- Paper: 32/64/128 channels (``MTWDConfig.paper()``); we ship a compact config.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._blocks import ResBlock, conv, pad_to_multiple, zero_init


@dataclass(frozen=True)
class MTWDConfig:
    channels: tuple[int, int, int] = (16, 32, 64)
    blocks: int = 3
    scales: int = 3

    @classmethod
    def paper(cls) -> "MTWDConfig":
        return cls(channels=(32, 64, 128))


def _level(cin: int, cout: int, stride: int, n: int) -> nn.Sequential:
    return nn.Sequential(conv(cin, cout, 3, stride), nn.ReLU(inplace=True), *[ResBlock(cout) for _ in range(n)])


class _Decoder(nn.Module):
    def __init__(self, c: tuple[int, int, int], n: int) -> None:
        super().__init__()
        self.up = nn.ModuleList([nn.ConvTranspose2d(c[2], c[1], 4, 2, 1), nn.ConvTranspose2d(c[1], c[0], 4, 2, 1)])
        self.rb = nn.ModuleList([nn.Sequential(*[ResBlock(c[i]) for _ in range(n)]) for i in (1, 0)])
        self.out = zero_init(conv(c[0], 3))

    def forward(self, f: torch.Tensor, skips: list[torch.Tensor] | None) -> torch.Tensor:
        for i in range(2):
            f = self.up[i](f)
            if skips is not None:
                f = f + skips[1 - i]
            f = self.rb[i](f)
        return self.out(f)


class ScaleNet(nn.Module):
    def __init__(self, cfg: MTWDConfig) -> None:
        super().__init__()
        c, n = cfg.channels, cfg.blocks
        self.enc = nn.ModuleList([_level(6, c[0], 1, n), _level(c[0], c[1], 2, n), _level(c[1], c[2], 2, n)])
        self.dec_up = _Decoder(c, n)
        self.dec_down = _Decoder(c, n)

    def forward(self, b: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        f = torch.cat([b, prev], 1)
        feats = []
        for e in self.enc:
            f = e(f)
            feats.append(f)
        up = b + self.dec_up(f, feats[:2])
        down = self.dec_down(f, None)
        return up + down


class MTWDNet(nn.Module):
    multiple = 16
    cond = None
    receptive_px = 160
    context_px = 112  # tile context: measured by scripts/tile_context.py (docs/logs/tile_context.txt)
    act_bytes_per_px = 510  # peak activation memory per tile pixel: scripts/tile_memory.py

    def __init__(self, cfg: MTWDConfig = MTWDConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.net = ScaleNet(cfg)

    def forward_levels(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Restorations at every scale, finest first."""
        bs = [x]
        for _ in range(self.cfg.scales - 1):
            bs.append(F.interpolate(bs[-1], scale_factor=0.5, mode="bilinear", align_corners=False))
        prev = bs[-1]
        outs = []
        for b in reversed(bs):
            if prev.shape[-2:] != b.shape[-2:]:
                prev = F.interpolate(prev, size=b.shape[-2:], mode="bilinear", align_corners=False)
            prev = self.net(b, prev)
            outs.append(prev)
        return outs[::-1]

    def forward(self, x: torch.Tensor, cond: None = None) -> torch.Tensor:
        xp, (h, w) = pad_to_multiple(x, self.multiple)
        return self.forward_levels(xp)[0][..., :h, :w]
