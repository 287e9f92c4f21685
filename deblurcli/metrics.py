"""PSNR / SSIM on tensors (B, C, H, W) in [0, 1]."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def psnr(a: torch.Tensor, b: torch.Tensor, border: int = 0) -> torch.Tensor:
    """Per-image PSNR in dB (B,), ignoring ``border`` pixels on every side."""
    if border:
        a, b = a[..., border:-border, border:-border], b[..., border:-border, border:-border]
    mse = ((a.float() - b.float()) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * torch.log10(1 / mse)


def _gauss(window: int = 11, sigma: float = 1.5, device: torch.device | None = None) -> torch.Tensor:
    x = torch.arange(window, dtype=torch.float32, device=device) - window // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim_map(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """SSIM map per channel (Wang et al. 2004, 11×11 Gaussian σ = 1.5, valid region)."""
    a, b = a.float(), b.float()
    c = a.shape[1]
    g = _gauss(device=a.device)
    kx = g.view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    ky = g.view(1, 1, -1, 1).repeat(c, 1, 1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, kx, groups=c), ky, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    saa = blur(a * a) - mu_a**2
    sbb = blur(b * b) - mu_b**2
    sab = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    return ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2))


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image mean SSIM (B,)."""
    return ssim_map(a, b).flatten(1).mean(1)


BORDER = 8  # scores ignore a thin border: reflect-padded blur at image edges is not a camera's blur


def scores(restored: torch.Tensor, sharp: torch.Tensor, border: int = BORDER) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image (PSNR, SSIM) of (B, C, H, W) tensors in [0, 1], ``border`` pixels ignored — the one
    scoring rule of training validation and of `deblur bench --quality`."""
    b = border
    r = restored.float().clamp(0, 1)[..., b:-b, b:-b] if b else restored.float().clamp(0, 1)
    s = sharp.float()[..., b:-b, b:-b] if b else sharp.float()
    return psnr(r, s), ssim(r, s)


MAX_SHIFT = 10  # foreign sets: scored after the best integer shift within ±10 px (Levin 2009, Köhler 2012)


def aligned_scores(restored: torch.Tensor, sharp: torch.Tensor, max_shift: int = MAX_SHIFT) -> tuple[float, float, float]:
    """(PSNR, SSIM, mean-level shift in 1/255) of one (1, C, H, W) image after the integer shift of
    ``restored`` within ±``max_shift`` px that gives the lowest MSE; the truth's outer ``max_shift`` px
    are left out for every shift alike. The level shift is mean(restored − truth) × 255 (a tone check)."""
    r = max_shift
    out, ref = restored.float().clamp(0, 1)[0], sharp.float()[0]
    h, w = ref.shape[-2:]
    core = ref[:, r : h - r, r : w - r]
    best, arg = float("inf"), (0, 0)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            mse = float(((out[:, r + dy : h - r + dy, r + dx : w - r + dx] - core) ** 2).mean())
            if mse < best:
                best, arg = mse, (dy, dx)
    dy, dx = arg
    o = out[:, r + dy : h - r + dy, r + dx : w - r + dx]
    p = float(10 * torch.log10(1 / torch.tensor(max(best, 1e-10))))
    return p, float(ssim(o[None], core[None])[0]), float((o - core).mean()) * 255
