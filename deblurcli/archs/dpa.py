"""DPE Net + DPA Net — Kim et al., "Image deblurring using deep multi-scale distortion prior".

DPA Net: one 3-level encoder-decoder. Each level's input-pyramid image (bilinear) enters through
Feature Extraction (FE: conv + RB); each Residual Module (RM: K residual blocks) feeds Self-Attention
(SA: channel attention eq. 4-6, then pixel attention eq. 7-8), whose output goes to Prior Attention
(PA, eq. 12-15) and to Feature Fusion (FF) with the decoder. The decoder restores an image at every
level; Image Fusion (IF, eq. 9-11) blends the coarser restored image, upsampled by a stride-2
transposed conv, with the finer input-pyramid level through a learned pixel attention.

DPE Net: the same 3-level encoder without SA, with a conv that emits the prior at every level. Input:
the blurred photo (blind mode, 3 channels) or the sharp+blurred calibration pair (calibrated mode,
6 channels).

Choices the paper leaves open (standard practice of its time), and deviations:
- Downsampling between encoder levels: stride-2 conv; upsampling in the decoder: stride-2 transposed
  conv (as in the IF block). FF is concatenation + 1×1 conv.
- Each decoder level predicts a residual that is added to the IF-fused image (the coarsest level: to
  its input-pyramid image), so an untrained decoder starts as the identity.
- Channel attention pools over a local 31×31 window (``local_mean``) instead of the whole image, in
  training and inference alike, so the network is tile-safe (on training crops it equals global pooling
  at the coarser levels).
- Calibrated mode: the prior from the calibration pair is averaged over a ``prior_grid``×``prior_grid``
  grid in normalised sensor coordinates (a lens' blur field is smooth; averaging removes the content of
  the calibration image) and bilinearly resampled to each level — the same operation at training and
  inference, which lets one prior serve photos of any size and any tile of them.
- One DPA Net is shared by both modes (two DPE Nets: blind and calibrated), trained jointly.
- The paper leaves the prior unsupervised. Trained that way, our compact DPA Net learned to ignore
  it (calibrated = blind); with ``prior_aux`` (training config) the first 3 prior channels of both
  DPE Nets are also trained to predict the local PSF's size and shape (``training.losses``).
- Paper: K = 10 RBs per RM, 32/64/128 channels (``DPAConfig.paper()``); we ship a compact config.
- ``unshuffle=2`` (our addition, dpa-lite): both nets run on the pixel-unshuffled photo (space-to-depth,
  12 channels at half resolution) and the restored levels are pixel-shuffled back — a quarter of the
  FLOPs at the same widths, with wide (efficient) convolutions kept, unlike halving the channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._blocks import ChannelAttention, PixelAttention, ResBlock, bilinear_up_init, can_write_into, conv, pad_to_multiple, zero_init


@dataclass(frozen=True)
class DPAConfig:
    channels: tuple[int, int, int] = (16, 32, 64)
    blocks: tuple[int, int, int] = (1, 2, 3)  # RBs per RM, per level (paper: 10)
    prior_channels: int = 8
    dpe_blocks: int = 1
    prior_grid: int = 16
    calibrated: bool = True  # also build the calibrated-mode DPE Net
    # Space-to-depth factor: 2 runs both nets on the pixel-unshuffled photo (12 channels at half the
    # resolution; outputs pixel-shuffled back), a quarter of the FLOPs at the same widths (dpa-lite).
    unshuffle: int = 1

    @classmethod
    def paper(cls) -> "DPAConfig":
        return cls(channels=(32, 64, 128), blocks=(10, 10, 10), prior_channels=16, dpe_blocks=10)


def _rm(ch: int, k: int) -> nn.Sequential:
    return nn.Sequential(*[ResBlock(ch) for _ in range(k)])


class FE(nn.Sequential):
    def __init__(self, cin: int, ch: int) -> None:
        super().__init__(conv(cin, ch), ResBlock(ch))


class SA(nn.Sequential):
    def __init__(self, ch: int) -> None:
        super().__init__(ChannelAttention(ch), PixelAttention(ch))


class PA(nn.Module):
    """Prior attention (eq. 12-15): F = F* + F*·Conv(A) + Conv(A), A = ReLU(Conv(ReLU(Conv(d))))."""

    def __init__(self, ch: int, pch: int) -> None:
        super().__init__()
        self.a = nn.Sequential(conv(pch, ch), nn.ReLU(inplace=True), conv(ch, ch), nn.ReLU(inplace=True))
        self.mul = conv(ch, ch)
        self.add = conv(ch, ch)

    def forward(self, f: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        a = self.a(d)
        m, add = self.mul(a), self.add(a)
        if can_write_into(m, f, add):
            return m.mul_(f).add_(f).add_(add)  # the same sums in the same order, in place
        return f + f * m + add


class IF(nn.Module):
    """Image fusion with level attention (eq. 9-11)."""

    def __init__(self, ch: int, img_ch: int = 3) -> None:
        super().__init__()
        self.up = bilinear_up_init(nn.ConvTranspose2d(img_ch, img_ch, 4, stride=2, padding=1))
        self.att = nn.Sequential(conv(ch, max(ch // 4, 4)), nn.ReLU(inplace=True), conv(max(ch // 4, 4), 1), nn.Sigmoid())

    def forward(self, feat: torch.Tensor, coarse: torch.Tensor, fine_input: torch.Tensor) -> torch.Tensor:
        a = self.att(feat)
        return self.up(coarse) * a + fine_input * (1 - a)


def pyramid(x: torch.Tensor, levels: int = 3) -> list[torch.Tensor]:
    out = [x]
    for _ in range(levels - 1):
        out.append(F.interpolate(out[-1], scale_factor=0.5, mode="bilinear", align_corners=False, antialias=False))
    return out


class DPENet(nn.Module):
    """Distortion-prior estimator: 3-level encoder emitting a prior at every level."""

    def __init__(self, cfg: DPAConfig, in_ch: int) -> None:
        super().__init__()
        c = cfg.channels
        self.fe = nn.ModuleList([FE(in_ch, c[0])] + [FE(in_ch, c[i]) for i in (1, 2)])
        self.down = nn.ModuleList([conv(c[0], c[1], 3, 2), conv(c[1], c[2], 3, 2)])
        self.fuse = nn.ModuleList([conv(2 * c[1], c[1], 1), conv(2 * c[2], c[2], 1)])
        self.rm = nn.ModuleList([_rm(c[i], cfg.dpe_blocks) for i in range(3)])
        self.emit = nn.ModuleList([conv(c[i], cfg.prior_channels) for i in range(3)])

    def forward(self, z: torch.Tensor) -> list[torch.Tensor]:
        pyr = pyramid(z)
        f = self.rm[0](self.fe[0](pyr[0]))
        priors = [self.emit[0](f)]
        for i in (1, 2):
            f = self.fuse[i - 1](torch.cat([self.down[i - 1](f), self.fe[i](pyr[i])], 1))
            f = self.rm[i](f)
            priors.append(self.emit[i](f))
        return priors


class DPANet(nn.Module):
    """Prior-attention deblurring network (decoder-side image pyramid with level attention)."""

    def __init__(self, cfg: DPAConfig, img_ch: int = 3) -> None:
        super().__init__()
        c, k, p = cfg.channels, cfg.blocks, cfg.prior_channels
        self.fe = nn.ModuleList([FE(img_ch, c[i]) for i in range(3)])
        self.down = nn.ModuleList([conv(c[0], c[1], 3, 2), conv(c[1], c[2], 3, 2)])
        self.efuse = nn.ModuleList([conv(2 * c[1], c[1], 1), conv(2 * c[2], c[2], 1)])
        self.erm = nn.ModuleList([_rm(c[i], k[i]) for i in range(3)])
        self.esa = nn.ModuleList([SA(c[i]) for i in range(3)])
        self.pa = nn.ModuleList([PA(c[i], p) for i in range(3)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(c[1], c[0], 4, 2, 1), nn.ConvTranspose2d(c[2], c[1], 4, 2, 1)])
        self.ff = nn.ModuleList([conv(2 * c[0], c[0], 1), conv(2 * c[1], c[1], 1)])
        self.drm = nn.ModuleList([_rm(c[i], k[i]) for i in range(2)])
        self.dsa = nn.ModuleList([SA(c[i]) for i in range(2)])
        self.out = nn.ModuleList([zero_init(conv(c[i], img_ch)) for i in range(3)])
        self.fuse_img = nn.ModuleList([IF(c[i], img_ch) for i in range(2)])

    def forward(self, y: torch.Tensor, prior: list[torch.Tensor]) -> list[torch.Tensor]:
        """Return restored images at every level, finest first."""
        pyr = pyramid(y)
        skips = []
        f = None
        for i in range(3):
            e = self.fe[i](pyr[i])
            if f is not None:
                e = self.efuse[i - 1](torch.cat([self.down[i - 1](f), e], 1))
            f = self.pa[i](self.esa[i](self.erm[i](e)), _fit(prior[i], e))
            skips.append(f)
        img = pyr[2] + self.out[2](f)
        outs = [img]
        for i in (1, 0):
            f = self.ff[i](torch.cat([self.up[i](f), skips[i]], 1))
            f = self.dsa[i](self.drm[i](f))
            img = self.fuse_img[i](f, img, pyr[i]) + self.out[i](f)
            outs.append(img)
        return outs[::-1]


def cell_matrix(n: int, g: int, offset: int = 0, total: int | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(g, n) one-hot matrix assigning pixels offset..offset+n-1 of an axis of length ``total`` to
    ``g`` equal cells (pixel i -> cell floor(i·g/total)); used to average features per cell."""
    total = total or n
    idx = ((torch.arange(offset, offset + n) * g) // total).clamp_(0, g - 1)
    return torch.nn.functional.one_hot(idx, g).T.to(dtype)


def grid_sums(f: torch.Tensor, g: int, y0: int = 0, x0: int = 0, height: int | None = None,
              width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-cell sums (B, C, g, g) and pixel counts (g, g) of a feature map that sits at (y0, x0) in a
    map of size height×width — so tiles can be accumulated into the whole map's cell means."""
    h, w = f.shape[-2:]
    my = cell_matrix(h, g, y0, height or h)
    mx = cell_matrix(w, g, x0, width or w)
    sums = torch.einsum("gh,bchw,kw->bcgk", my, f.float(), mx)
    return sums, my.sum(1)[:, None] * mx.sum(1)[None, :]


def grid_mean(f: torch.Tensor, g: int) -> torch.Tensor:
    sums, counts = grid_sums(f, g)
    return sums / counts.clamp_min(1)


def _fit(d: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if d.shape[-2:] != like.shape[-2:]:
        d = F.interpolate(d, size=like.shape[-2:], mode="bilinear", align_corners=False)
    return d.to(like.dtype)


class DistortionPriorDeblur(nn.Module):
    """DPE (blind and calibrated) + DPA. ``forward(x, prior=None)``: blind when ``prior`` is None."""

    cond = "prior"

    def __init__(self, cfg: DPAConfig = DPAConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        u = cfg.unshuffle
        if u not in (1, 2, 4):
            raise ValueError(f"unshuffle must be 1, 2 or 4, not {u}")
        self.multiple = 4 * u
        self.receptive_px = 96 * u
        # tile context: measured by scripts/tile_context.py (docs/logs/tile_context.txt)
        self.context_px = {1: 80, 2: 128}.get(u, 96 * u)  # 2: measured with dpa-lite (10,000 steps)
        # peak activation memory per tile pixel, measured by scripts/tile_memory.py (4: scaled, unmeasured)
        self.act_bytes_per_px = {1: 560, 2: 160}.get(u, 60)
        self.dpe_blind = DPENet(cfg, 3 * u * u)
        self.dpe_cal = DPENet(cfg, 6 * u * u) if cfg.calibrated else None
        self.dpa = DPANet(cfg, 3 * u * u)

    def level_scale(self, i: int) -> int:
        """Pixels of the photo per pixel of prior/feature level ``i``."""
        return self.cfg.unshuffle * 2**i

    def _in(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_unshuffle(x, self.cfg.unshuffle) if self.cfg.unshuffle > 1 else x

    def blind_prior(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Blind mode: the multi-scale prior the blind DPE net reads from the blurred photo itself."""
        return self.dpe_blind(self._in(x))

    def calibrated_levels(self, pair: torch.Tensor) -> list[torch.Tensor]:
        """The calibrated DPE net's per-pixel prior levels for a sharp+blurred pair (6 channels)."""
        if self.dpe_cal is None:
            raise ValueError("this checkpoint has no calibrated-mode DPE net")
        # pixel_unshuffle keeps each input channel's sub-pixels together: [sharp..., blurred...]
        return self.dpe_cal(self._in(pair))

    def estimate_prior(self, sharp: torch.Tensor, blur: torch.Tensor) -> list[torch.Tensor]:
        """Calibrated mode: the multi-scale prior of a sharp/blurred pair, on a coarse sensor grid."""
        g = self.cfg.prior_grid
        return [grid_mean(d, g) for d in self.calibrated_levels(torch.cat([sharp, blur], 1))]

    def forward_levels(self, x: torch.Tensor, prior: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
        """Restored images at full, 1/2 and 1/4 resolution (finest first)."""
        z = self._in(x)
        if prior is None:
            prior = self.dpe_blind(z)
        outs = self.dpa(z, prior)
        u = self.cfg.unshuffle
        return [F.pixel_shuffle(o, u) for o in outs] if u > 1 else outs

    def forward(self, x: torch.Tensor, prior: list[torch.Tensor] | None = None) -> torch.Tensor:
        xp, (h, w) = pad_to_multiple(x, self.multiple)
        return self.forward_levels(xp, prior)[0][..., :h, :w]
