"""LCNet — Su, Yuan, Wang, "Deep image deblurring using local correlation block".

Encoder-decoder with skip connections, 3×3 kernels, LeakyReLU(0.2), no normalisation. Three EBlocks
(conv with stride 2 + 3 residual blocks) and three DBlocks (2 LCBlocks + conv + pixel shuffle ×2).
LCBlock: two convs squeeze the features into a "blur pattern" map and a "content" map; in a sliding
local window the weights are the softmax of the dot products between the centre element and its
neighbours in the pattern map (eq. 3) and sum the content map (eq. 4); a third conv restores the
channels; a shortcut adds the block's input. Loss: L1 + 0.1 × content loss.

Choices the paper leaves open, and deviations:
- Window 5×5; squeeze ratio 2; dot products scaled by 1/sqrt(d) (standard for softmax attention).
- A stem conv at full resolution before the first EBlock, and the input image added to the output
  (global residual), so an untrained network starts as the identity.
- The content loss uses VGG-19 features in the paper; no VGG weights can be had offline, so training
  uses a frequency-domain L1 term instead (``training.losses``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ._blocks import ResBlock, conv, local_attention, pad_to_multiple, zero_init


@dataclass(frozen=True)
class LCNetConfig:
    channels: tuple[int, int, int] = (16, 32, 64)
    window: int = 5
    squeeze: int = 2

    @classmethod
    def paper(cls) -> "LCNetConfig":
        return cls(channels=(32, 64, 128))


class LCBlock(nn.Module):
    def __init__(self, ch: int, window: int, squeeze: int) -> None:
        super().__init__()
        mid = max(ch // squeeze, 4)
        self.pattern = conv(ch, mid)
        self.content = conv(ch, mid)
        self.restore = conv(mid, ch)
        self.window = window

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.pattern(x)
        return x + self.restore(local_attention(p, p, self.content(x), self.window))


def _eblock(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(conv(cin, cout, 3, 2), nn.LeakyReLU(0.2, inplace=True), *[ResBlock(cout, "lrelu") for _ in range(3)])


def _dblock(cin: int, cout: int, window: int, squeeze: int) -> nn.Sequential:
    return nn.Sequential(LCBlock(cin, window, squeeze), LCBlock(cin, window, squeeze), conv(cin, cout * 4), nn.PixelShuffle(2))


class LCNet(nn.Module):
    multiple = 8
    cond = None
    receptive_px = 128
    context_px = 48  # tile context: measured by scripts/tile_context.py (docs/logs/tile_context.txt)
    act_bytes_per_px = 290  # peak activation memory per tile pixel: scripts/tile_memory.py

    def __init__(self, cfg: LCNetConfig = LCNetConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.stem = nn.Sequential(conv(3, c[0]), nn.LeakyReLU(0.2, inplace=True))
        self.enc = nn.ModuleList([_eblock(c[0], c[0]), _eblock(c[0], c[1]), _eblock(c[1], c[2])])
        self.dec = nn.ModuleList([_dblock(c[2], c[1], cfg.window, cfg.squeeze), _dblock(c[1], c[0], cfg.window, cfg.squeeze), _dblock(c[0], c[0], cfg.window, cfg.squeeze)])
        self.out = zero_init(conv(c[0], 3))

    def forward(self, x: torch.Tensor, cond: None = None) -> torch.Tensor:
        xp, (h, w) = pad_to_multiple(x, self.multiple)
        s0 = self.stem(xp)
        e1 = self.enc[0](s0)
        e2 = self.enc[1](e1)
        e3 = self.enc[2](e2)
        d = self.dec[0](e3) + e2
        d = self.dec[1](d) + e1
        d = self.dec[2](d) + s0
        return (xp + self.out(d))[..., :h, :w]
