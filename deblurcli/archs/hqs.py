"""Non-blind deconvolution by unrolled half-quadratic splitting (after USRNet, Zhang et al. 2020).

The PSF is an input: each of ``iters`` stages solves the data term exactly in the Fourier domain,
x = argmin ‖k∗x − y‖² + α·‖x − z‖², and a small learned prior (one U-Net shared by all stages, told
the stage's noise level) cleans x into the next z. The data step does the deconvolution for any kernel,
so the network only has to learn what photos look like; it trains quickly on a CPU.

Inputs: ``x`` (N×3×H×W, the blurred photo in the domain it was blurred in), ``kernel`` (N×1×S×S on a
fixed odd canvas, centre at S//2, sums to 1) and ``sigma`` (N×1, the noise level in that domain).
The photo is mirrored by ``pad`` px per side before the FFT, so the circular model's seam sits far from
the picture. Under tiling, the data step's reach is the whole photo (the inverse of a line kernel rings
at multiples of its length), so the engine runs it on the whole photo and only the prior tile by tile
(``engine.unrolled``): tiled equals untiled.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._blocks import ResBlock, conv, pad_to_multiple


@dataclass(frozen=True)
class HQSConfig:
    iters: int = 4
    channels: tuple[int, ...] = (32, 64, 96)
    unshuffle: int = 2  # the prior runs on the space-to-depth photo (×2): a quarter of the pixels
    canvas: int = 75  # kernel canvas side (odd): the largest kernel the net takes
    pad: int = 40  # mirrored px per side before the FFT

    @classmethod
    def paper(cls) -> "HQSConfig":
        """USRNet's own size: 8 stages, a ResUNet prior of 64-512 channels at full resolution."""
        return cls(iters=8, channels=(64, 128, 256, 512), unshuffle=1)


class PriorUNet(nn.Module):
    """z = x + f(x, noise level): a residual U-Net with one ResBlock per level."""

    def __init__(self, ch: tuple[int, ...], u: int) -> None:
        super().__init__()
        self.u = u
        self.head = conv(4 * u * u, ch[0])
        self.enc = nn.ModuleList(ResBlock(c) for c in ch[:-1])
        self.down = nn.ModuleList(nn.Conv2d(a, b, 2, stride=2) for a, b in zip(ch[:-1], ch[1:]))
        self.mid = ResBlock(ch[-1])
        self.up = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in zip(ch[:-1], ch[1:]))
        self.dec = nn.ModuleList(ResBlock(c) for c in ch[:-1])
        self.tail = conv(ch[0], 3 * u * u)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        inp = torch.cat([x, level.view(n, 1, 1, 1).expand(n, 1, h, w).to(x.dtype)], 1)
        f = self.head(F.pixel_unshuffle(inp, self.u) if self.u > 1 else inp)
        skips = []
        for enc, down in zip(self.enc, self.down):
            f = enc(f)
            skips.append(f)
            f = down(f)
        f = self.mid(f)
        for up, dec, s in zip(reversed(self.up), reversed(self.dec), reversed(skips)):
            f = dec(up(f) + s)
        r = self.tail(f)
        return x + (F.pixel_shuffle(r, self.u) if self.u > 1 else r)


def otf(kernel: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """The FFT of N×1×S×S kernels (centre S//2) zero-padded to ``shape`` with the centre at (0, 0)."""
    s = kernel.shape[-1]
    k = F.pad(kernel.float(), (0, shape[1] - s, 0, shape[0] - s))
    return torch.fft.rfft2(torch.roll(k, (-(s // 2), -(s // 2)), dims=(-2, -1)))


class HQSDeconv(nn.Module):
    cond = "kernel"

    def __init__(self, cfg: HQSConfig = HQSConfig()) -> None:
        super().__init__()
        if cfg.canvas % 2 == 0:
            raise ValueError("canvas must be odd")
        self.cfg = cfg
        self.prior = PriorUNet(cfg.channels, cfg.unshuffle)
        # Stage weights from the noise level (USRNet's HyPaNet): log α_t and the prior's level β_t.
        self.hyper = nn.Sequential(nn.Linear(1, 32), nn.ReLU(inplace=True), nn.Linear(32, 2 * cfg.iters))
        nn.init.zeros_(self.hyper[2].weight)
        with torch.no_grad():
            t = torch.linspace(0, 1, cfg.iters)
            self.hyper[2].bias.copy_(torch.cat([math.log(0.05) + t * math.log(0.002 / 0.05),
                                                math.log(0.1) + t * math.log(0.1)]))
        self.multiple = cfg.unshuffle * 2 ** (len(cfg.channels) - 1)

    def stage_weights(self, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(α_t, β_t), each N×iters: the data step's weight and the prior's noise level per stage."""
        h = self.hyper(torch.log(sigma.float().view(-1, 1).clamp(min=1e-3)))
        n = self.cfg.iters
        return torch.exp(h[:, :n]), torch.exp(h[:, n:])

    def mirror_px(self, h: int, w: int, kernel_side: int = 0) -> int:
        """Mirrored px per side: ``cfg.pad`` (at least the kernel's side), a multiple of the U-Net's
        stride, less than the photo's side."""
        m = self.multiple
        return min(max(self.cfg.pad, kernel_side), h - 1, w - 1) // m * m

    def forward(self, x: torch.Tensor, kernel: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        n, _, h0, w0 = x.shape
        x, _ = pad_to_multiple(x, self.multiple)
        p = self.mirror_px(*x.shape[-2:])
        with torch.autocast(x.device.type, enabled=False):
            data = DataTerm(F.pad(x.float(), (p, p, p, p), mode="reflect"), kernel)
            alpha, beta = self.stage_weights(sigma)
        z = self.unroll(data, alpha, lambda x, t: self.prior(x, beta[:, t]))
        return z[..., p : p + h0, p : p + w0].float()

    def unroll(self, data: "DataTerm", alpha: torch.Tensor,
               prior: Callable[[torch.Tensor, int], torch.Tensor]) -> torch.Tensor:
        """The stages: z ← prior(data step(z), t), clamped to [0, 1] after each as the engine clamps every
        network output. ``forward`` runs the prior on the whole array, ``engine.unrolled`` in tiles."""
        z = data.y
        for t in range(self.cfg.iters):
            z = prior(data.solve(z, alpha[:, t]), t).clamp(0, 1)
        return z


class DataTerm:
    """The exact data step of one (mirrored) photo, x = argmin ‖k∗x − y‖² + α‖x − z‖², in float32 by
    FFT over the whole array (circular): what does not depend on z is computed once."""

    def __init__(self, y: torch.Tensor, kernel: torch.Tensor) -> None:
        self.y = y.float()
        self.shape = tuple(y.shape[-2:])
        K = otf(kernel, self.shape)  # type: ignore[arg-type]
        self.K = K
        self.KY = torch.conj(K) * torch.fft.rfft2(self.y)
        self.K2 = K.real**2 + K.imag**2

    def reblur(self, z: torch.Tensor) -> torch.Tensor:
        """k∗z, circular as the data step's model."""
        with torch.autocast(z.device.type, enabled=False):
            return torch.fft.irfft2(self.K * torch.fft.rfft2(z.float()), s=self.shape)

    def solve(self, z: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        with torch.autocast(z.device.type, enabled=False):
            a = alpha.float().view(-1, 1, 1, 1)
            return torch.fft.irfft2((self.KY + a * torch.fft.rfft2(z.float())) / (self.K2 + a), s=self.shape)
