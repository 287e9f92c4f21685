"""Attention GAN generator and discriminator — Lenka, Mittal, Pandey, "Blind deblurring using GANs".

Generator: the paper's best pix2pix variant, "self-attention + global residual": a U-Net
encoder-decoder with skip connections (4×4 stride-2 convs down, transposed convs up), a self-attention
(non-local) block with learnable γ at the bottleneck (eq. 2), squeeze-excitation channel attention
(eq. 3-4) in the decoder, spectral normalisation on every conv, and the input added to the output.
Discriminator: 70×70 PatchGAN with spectral normalisation. Losses: L1 + adversarial (+ a content term;
see ``training.losses``).

Choices the paper leaves open, and deviations:
- The non-local block attends within a sliding 7×7 window at the bottleneck (1/16 resolution, i.e.
  a 112-px neighbourhood in the photo) instead of the whole image, in training and inference alike:
  full-image attention would make the output depend on the tile.
- Squeeze-excitation pools over a local window (``local_mean``) for the same reason.
- Instance/batch norm is dropped: spectral norm regularises, and normalisation statistics would
  also depend on the tile.
- Paper: 64…512 filters over 8 levels (pix2pix); we ship 4 levels and a compact width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ._blocks import ChannelAttention, local_attention, pad_to_multiple


@dataclass(frozen=True)
class AttGANConfig:
    channels: tuple[int, int, int, int] = (16, 32, 64, 128)
    window: int = 7

    @classmethod
    def paper(cls) -> "AttGANConfig":
        return cls(channels=(64, 128, 256, 512))


def _sn(m: nn.Module) -> nn.Module:
    return spectral_norm(m)


class NonLocal(nn.Module):
    """y = γ·W(softmax(θ(x)ᵀφ(x)) g(x)) + x, attention within a sliding window."""

    def __init__(self, ch: int, window: int) -> None:
        super().__init__()
        mid = max(ch // 8, 4)
        self.theta, self.phi = _sn(nn.Conv2d(ch, mid, 1)), _sn(nn.Conv2d(ch, mid, 1))
        self.g, self.w = _sn(nn.Conv2d(ch, ch // 2, 1)), _sn(nn.Conv2d(ch // 2, ch, 1))
        self.gamma = nn.Parameter(torch.zeros(1))
        self.window = window

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gamma * self.w(local_attention(self.theta(x), self.phi(x), self.g(x), self.window))


class AttentionGenerator(nn.Module):
    multiple = 16
    cond = None
    receptive_px = 160
    context_px = 32  # tile context: measured by scripts/tile_context.py (docs/logs/tile_context.txt)
    act_bytes_per_px = 260  # peak activation memory per tile pixel: scripts/tile_memory.py

    def __init__(self, cfg: AttGANConfig = AttGANConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        ins = (3,) + c[:-1]
        self.down = nn.ModuleList(
            [nn.Sequential(_sn(nn.Conv2d(ins[i], c[i], 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)) for i in range(4)]
        )
        self.mid = nn.Sequential(_sn(nn.Conv2d(c[3], c[3], 3, 1, 1)), nn.LeakyReLU(0.2, inplace=True), NonLocal(c[3], cfg.window))
        outs = (c[2], c[1], c[0], 16)
        self.up = nn.ModuleList()
        for i, cin in enumerate((c[3], 2 * c[2], 2 * c[1], 2 * c[0])):
            self.up.append(nn.Sequential(_sn(nn.ConvTranspose2d(cin, outs[i], 4, 2, 1)), nn.ReLU(inplace=True), ChannelAttention(outs[i])))
        self.out = _sn(nn.Conv2d(16, 3, 3, 1, 1))
        self.out_scale = nn.Parameter(torch.zeros(1))  # starts as the identity (spectral norm forbids a zero conv)

    def forward(self, x: torch.Tensor, cond: None = None) -> torch.Tensor:
        xp, (h, w) = pad_to_multiple(x, self.multiple)
        skips = []
        f = xp
        for d in self.down:
            f = d(f)
            skips.append(f)
        f = self.mid(f)
        for i, u in enumerate(self.up):
            f = u(f)
            if i < 3:
                f = torch.cat([f, skips[2 - i]], 1)
        return (xp + self.out_scale * self.out(f))[..., :h, :w]


class PatchDiscriminator(nn.Module):
    """70×70 PatchGAN with spectral norm; input: the (blurred, candidate) pair."""

    def __init__(self, ch: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 6
        for i, (cout, s) in enumerate(((ch, 2), (2 * ch, 2), (4 * ch, 2), (8 * ch, 1))):
            layers += [_sn(nn.Conv2d(cin, cout, 4, s, 1)), nn.LeakyReLU(0.2, inplace=True)]
            cin = cout
        layers.append(_sn(nn.Conv2d(cin, 1, 4, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, blurred: torch.Tensor, candidate: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([blurred, candidate], 1))
