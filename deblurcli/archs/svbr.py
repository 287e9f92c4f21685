"""SVBR-Net — Karaali & Jung, "SVBR-Net: a non-blind spatially varying defocus blur removal network".

Two U-Net encoder-decoders: one for the blurred image, one for the dense defocus map (per-pixel disk
radius in pixels), with skip connections inside each branch and inter-branch connections between
blocks of the same size. Blocks: I conv3×3-BN-ReLU; II two type-I with a residual connection; III two
parallel paths summed — two type-I + 2×2 average pooling, and a 2×2 stride-2 conv + BN — doubling the
channels and halving the resolution; IV transposed-conv upsampling (+BN+ReLU); V the output block.
Loss: 1 − mean per-channel SSIM (eq. 2).

Choices the paper leaves open, and deviations:
- Inter-branch connections: the map branch's features are added (1×1 conv) to the image branch's at
  every encoder and decoder level.
- The map enters as radius / 6 (the paper's largest radius), so its scale is fixed and documented.
- Type V adds the blurred input to its output (global residual) so training starts from the identity.
- BatchNorm uses running statistics at inference, so it is local and tile-safe.
- Paper: 3 down levels with 64…512 filters; we ship a compact config (``SVBRConfig.paper()``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._blocks import pad_to_multiple, zero_init

MAP_SCALE = 6.0  # radius in px that maps to 1.0 at the network input


@dataclass(frozen=True)
class SVBRConfig:
    channels: tuple[int, int, int, int] = (16, 32, 64, 128)
    map_channels: tuple[int, int, int, int] = (8, 16, 32, 64)

    @classmethod
    def paper(cls) -> "SVBRConfig":
        return cls(channels=(64, 128, 256, 512), map_channels=(32, 64, 128, 256))


class TypeI(nn.Sequential):
    def __init__(self, cin: int, cout: int, act: bool = True) -> None:
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)]
        if act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class TypeII(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.a = TypeI(ch, ch)
        self.b = TypeI(ch, ch, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.b(self.a(x)))


class TypeIII(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.path1 = nn.Sequential(TypeI(cin, cout), TypeI(cout, cout), nn.AvgPool2d(2))
        self.path2 = nn.Sequential(nn.Conv2d(cin, cout, 2, stride=2, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.path1(x) + self.path2(x)


class TypeIV(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.ConvTranspose2d(cin, cout, 2, stride=2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _UNet(nn.Module):
    """One branch: stem, 3 type-III downs with type-II, 3 type-IV ups with skips + type-II."""

    def __init__(self, cin: int, c: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.stem = nn.Sequential(TypeI(cin, c[0]), TypeII(c[0]))
        self.down = nn.ModuleList([nn.Sequential(TypeIII(c[i], c[i + 1]), TypeII(c[i + 1])) for i in range(3)])
        self.up = nn.ModuleList([TypeIV(c[i + 1], c[i]) for i in (2, 1, 0)])
        self.merge = nn.ModuleList([nn.Sequential(TypeI(2 * c[i], c[i]), TypeII(c[i])) for i in (2, 1, 0)])


class SVBRNet(nn.Module):
    multiple = 8
    cond = "blur_map"
    receptive_px = 96
    act_bytes_per_px = 560  # peak activation memory per tile pixel: scripts/tile_memory.py

    def __init__(self, cfg: SVBRConfig = SVBRConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        c, m = cfg.channels, cfg.map_channels
        self.img = _UNet(3, c)
        self.map = _UNet(1, m)
        self.link_enc = nn.ModuleList([nn.Conv2d(m[i], c[i], 1) for i in range(4)])
        self.link_dec = nn.ModuleList([nn.Conv2d(m[i], c[i], 1) for i in (2, 1, 0)])
        self.out = zero_init(nn.Conv2d(c[0] + m[0], 3, 3, padding=1))  # type V

    def forward(self, x: torch.Tensor, blur_map: torch.Tensor) -> torch.Tensor:
        """x: (B,3,H,W) in [0,1]; blur_map: (B,1,H,W) disk radius in pixels."""
        xp, (h, w) = pad_to_multiple(x, self.multiple)
        mp, _ = pad_to_multiple(blur_map.to(x.dtype) / MAP_SCALE, self.multiple)
        fi, fm = self.img.stem(xp), self.map.stem(mp)
        fi = fi + self.link_enc[0](fm)
        skips = [(fi, fm)]
        for i in range(3):
            fi, fm = self.img.down[i](fi), self.map.down[i](fm)
            fi = fi + self.link_enc[i + 1](fm)
            skips.append((fi, fm))
        for j in range(3):
            si, sm = skips[2 - j]
            fi = self.img.merge[j](torch.cat([self.img.up[j](fi), si], 1))
            fm = self.map.merge[j](torch.cat([self.map.up[j](fm), sm], 1))
            fi = fi + self.link_dec[j](fm)
        return (xp + self.out(torch.cat([fi, fm], 1)))[..., :h, :w]
