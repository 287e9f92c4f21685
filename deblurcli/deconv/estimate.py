"""Blind estimation of one camera-shake kernel for a whole photo (`deblur --method kernel`).

Coarse-to-fine MAP with an L0 gradient prior (Xu, Zheng & Jia 2013; Pan et al. 2014): at each level of
a pyramid, alternate
  x-step: the intermediate sharp image, argmin ‖k∗x − y‖² + λ‖∇x‖₀ (half-quadratic splitting, FFT), whose
          few strong edges are what the kernel is read from;
  k-step: argmin ‖k∗∇x − ∇y‖² + γ‖k‖² (FFT), then kept to its support: non-negative, small values and
          specks cut, normalised, centred by its centre of mass.
It runs on the grey values of the photo (downscaled so its long side is at most ``work_side``, and on
the crop with the most edges), so a 12 MP photo costs what a small one does.

Confidence: the kernel is estimated on two regions of the photo; a uniform shake gives the same kernel
in both, so their normalised correlation (after the best shift) is the confidence. Below
``MIN_CONFIDENCE`` the estimate is treated as failed (or the blur as not uniform).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch

from ..synth.kernels import best_shift, canvas, delta, otf_canvas, second_moments

# Below this the photo goes to the blind net. Chosen on training photos with our own blur (shakes in
# sRGB and linear light, non-uniform blur, already-sharp photos; `scripts/kernel_confidence_sweep.py
# --photos 24`): 0.7 gains +0.70 dB over all four, against +0.55 at 0.5, chiefly because already-sharp
# noisy photos pass as shakes at 0.6-0.66 and the kernel path harms them, and because the blind net does
# better on non-uniform blur. The kernel's agreement with one region instead of the regions' agreement
# with each other does worse (+0.52 at 0.7).
MIN_CONFIDENCE = 0.7
# An estimate this narrow (rms radius, px) or this peaked (share of its mass in one pixel) is no shake:
# on already-sharp photos the estimator returns a near-delta (radius 0.6-0.7 px) or a peak with a few
# stray specks (peak 0.16-0.31), and deconvolving by it did real harm (26.6 dB against the input);
# the foreign shake kernels' estimates have radii of 3.8-6.8 px and peaks of 0.02-0.10.
MIN_RADIUS_PX = 1.0
MAX_PEAK = 0.15
# The largest kernel looked for is at most this share of the photo's short side (at the working scale):
# the coarse-to-fine pyramid's smallest level needs a few pixels to resize to. Half, not less: the
# foreign large-kernel photos are 240 px high once their 67-70 px blur is cropped off, and a quarter
# (61 px) cut those kernels short.
MAX_KERNEL_SHARE = 0.5
MIN_SIDE = 28  # px (at the working scale): a smaller photo gets no estimate (it allows no 7 px kernel)
# Raised whenever what ``estimate`` returns changes for the same config (cached estimates are keyed by it).
VERSION = 8


@dataclass(frozen=True)
class EstimateConfig:
    kernel_size: int = 75  # the largest kernel side looked for (odd)
    work_side: int = 1024  # the photo is downscaled to this long side at most (the kernel with it)
    crop: int = 384  # side of the two regions whose kernels give the confidence (at the working scale)
    main_side: int = 640  # the kernel used is read from the whole photo up to this side, else from the two regions
    lam: float = 2e-3  # weight of the L0 gradient prior (decays over the inner iterations)
    gamma: float = 200.0  # ridge weight of the kernel step (relative to the gradients' energy)
    inner: int = 5
    cut: float = 0.1  # kernel values below this share of its peak are set to 0
    # Measured on training photos and on the foreign sets, and removed (docs/logs/kernel_estimator_sweep.txt;
    # the code is at commit cc4f1e1): a kernel step refined by projected gradient under k ≥ 0 and an L1
    # weight (k_iters, l1), estimation in linear light (linear), Xu & Jia's r-map edge selection
    # (edge_keep), and an L0 weight that shrinks for a wide kernel (lam_radius). None read the foreign
    # kernels better. A dark-channel L0 prior (Pan et al. 2016; dark, at commit cba2878) read the
    # training photos' kernels worse.


@dataclass(frozen=True)
class KernelEstimate:
    kernel: np.ndarray  # at the photo's full resolution, odd side, centred, sums to 1
    confidence: float  # normalised correlation of the two regions' kernels, in [0, 1]
    scale: float  # working scale the kernel was estimated at (1 = full resolution)
    agreement: float = 1.0  # the kernel's best normalised correlation with one of the two regions' kernels
    failed: str = ""  # why no kernel could be estimated at all (then the kernel is a delta, confidence 0)

    @property
    def is_shake(self) -> bool:
        """Wide and spread enough to be a camera shake (else the photo is sharp or nearly so)."""
        m = second_moments(self.kernel)
        return float(np.sqrt(m[0] + m[1])) >= MIN_RADIUS_PX and float(self.kernel.max()) < MAX_PEAK

    @property
    def ok(self) -> bool:
        return not self.failed and self.confidence >= MIN_CONFIDENCE and self.is_shake


def _rfft2(x: torch.Tensor) -> torch.Tensor:
    return torch.fft.rfft2(x)


def _grad_otfs(shape: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    dx = torch.zeros(shape)
    dx[0, 0], dx[0, -1] = -1, 1
    dy = torch.zeros(shape)
    dy[0, 0], dy[-1, 0] = -1, 1
    return _rfft2(dx), _rfft2(dy)


def _grads(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.roll(x, -1, 1) - x, torch.roll(x, -1, 0) - x


def l0_deblur(y: np.ndarray, k: np.ndarray, lam: float, beta_max: float = 1e5) -> np.ndarray:
    """argmin ‖k∗x − y‖² + λ‖∇x‖₀ by half-quadratic splitting (Xu et al. 2011), circular boundaries.
    (torch's FFT, float32: several times faster than numpy's on the CPU; docs/logs/kernel_speed.txt.)"""
    shape = y.shape
    yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    K = _rfft2(torch.from_numpy(otf_canvas(k, shape)))
    Dx, Dy = _grad_otfs(shape)
    KY = K.conj() * _rfft2(yt)
    K2 = K.abs() ** 2
    D2 = Dx.abs() ** 2 + Dy.abs() ** 2
    x = yt.clone()
    beta = 2 * lam
    while beta < beta_max:
        gx, gy = _grads(x)
        keep = (gx * gx + gy * gy) >= lam / beta
        gx, gy = gx * keep, gy * keep
        # Dxᴴ·F(gx) + Dyᴴ·F(gy) taken as one transform of the adjoint differences, in the image
        dtg = torch.roll(gx, 1, 1) - gx + torch.roll(gy, 1, 0) - gy
        x = torch.fft.irfft2((KY + beta * _rfft2(dtg)) / (K2 + beta * D2), s=shape)
        beta *= 2
    return x.numpy()


def _clean(k: np.ndarray, cut: float) -> np.ndarray:
    k = np.maximum(k, 0)
    if k.max() <= 0:
        return delta(k.shape[0])
    k[k < cut * k.max()] = 0
    # keep the connected pieces that hold most of the mass (specks of noise are small and isolated)
    n, lab, stats, _ = cv2.connectedComponentsWithStats((k > 0).astype(np.uint8), connectivity=8)
    if n > 2:
        mass = np.array([k[lab == i].sum() for i in range(1, n)])
        for i, m in enumerate(mass, start=1):
            if m < 0.1 * mass.max():
                k[lab == i] = 0
    return _centre(k / k.sum())


def _centre(k: np.ndarray) -> np.ndarray:
    """Shift ``k`` (integer px) so its centre of mass sits at the middle of its canvas."""
    s = k.shape[0]
    ys, xs = np.indices(k.shape)
    cy, cx = (ys * k).sum() / k.sum(), (xs * k).sum() / k.sum()
    dy, dx = int(round(s // 2 - cy)), int(round(s // 2 - cx))
    return np.roll(k, (dy, dx), (0, 1))


def kernel_step(x: np.ndarray, y: np.ndarray, s: int, gamma: float, mask: np.ndarray | None = None) -> np.ndarray:
    """argmin_k ‖k∗∇x − ∇y‖² + γ‖k‖², cropped to s×s around the centre; ``mask`` (0/1, the image's
    shape) keeps the gradients where the blur model holds: the circular wrap's seam and the mirrored
    border would otherwise draw a cross through the kernel."""
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    grads = [*_grads(xt), *_grads(yt)]
    if mask is not None:
        m = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))
        grads = [g * m for g in grads]
    Fx = [_rfft2(g) for g in grads[:2]]
    Fy = [_rfft2(g) for g in grads[2:]]
    num = Fx[0].conj() * Fy[0] + Fx[1].conj() * Fy[1]
    den = Fx[0].abs() ** 2 + Fx[1].abs() ** 2
    reg = gamma * float(den.mean()) * 1e-2
    if reg <= 0:  # no gradient where the blur model holds (a flat region, or one too small for s)
        return np.zeros((s, s), np.float32)
    k = torch.fft.fftshift(torch.fft.irfft2(num / (den + reg), s=x.shape)).numpy()
    cy, cx, r = x.shape[0] // 2, x.shape[1] // 2, s // 2
    return k[cy - r : cy + r + 1, cx - r : cx + r + 1].astype(np.float32)


def _resize_kernel(k: np.ndarray, s: int) -> np.ndarray:
    k = cv2.resize(k, (s, s), interpolation=cv2.INTER_LINEAR)
    k = np.maximum(k, 0)
    return _centre(k / k.sum()) if k.sum() > 0 else delta(s)


def _sizes(kernel_size: int) -> list[int]:
    """Odd kernel sides from small to ``kernel_size``, a factor √2 apart."""
    out = [kernel_size | 1]
    while out[-1] > 7:
        out.append(max(int(round(out[-1] / np.sqrt(2))) | 1, 5))
    return out[::-1]


def estimate_region(y: np.ndarray, cfg: EstimateConfig) -> np.ndarray:
    """The kernel (cfg.kernel_size side) of a grey float image region, coarse to fine."""
    sizes = _sizes(cfg.kernel_size)
    k = delta(sizes[0])
    for s in sizes:
        f = s / cfg.kernel_size
        ys = cv2.resize(y, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else y
        pad = s
        # mirrored by s on every side, and further on the bottom and right to a size the FFT is fast at
        # (a side such as 422 = 2·211 cost 3-10× a nearby smooth one); the mask leaves the border out
        h, w = ys.shape[0] + 2 * pad, ys.shape[1] + 2 * pad
        fh, fw = cv2.getOptimalDFTSize(h), cv2.getOptimalDFTSize(w)
        ys = cv2.copyMakeBorder(ys, pad, pad + fh - h, pad, pad + fw - w, cv2.BORDER_REFLECT)
        m = pad + s // 2 + 1
        mask = np.zeros(ys.shape, np.float32)
        mask[m : h - m, m : w - m] = 1
        k = _resize_kernel(k, s)
        lam = cfg.lam
        for _ in range(cfg.inner):
            x = l0_deblur(ys, k, lam)
            k = _clean(kernel_step(x, ys, s, cfg.gamma, mask), cfg.cut)
            lam = max(lam / 1.1, 1e-4)
    return k


def _regions(g: np.ndarray, side: int, n: int = 2) -> list[tuple[int, int]]:
    """Top-left corners of the ``n`` side×side crops with the most gradient energy that lie at least half
    a side apart (on a small photo they overlap; fewer than ``n`` when the photo does not hold them:
    then ``_halves``)."""
    h, w = g.shape
    if h <= side and w <= side:
        return [(0, 0)]
    e = cv2.Sobel(g, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(g, cv2.CV_32F, 0, 1) ** 2
    step = max(side // 4, 8)
    cands = [(float(e[y : y + side, x : x + side].mean()), y, x)
             for y in range(0, h - side + 1, step) for x in range(0, w - side + 1, step)]
    cands.sort(reverse=True)
    picked: list[tuple[int, int]] = []
    for gap in (side, side // 2):  # apart if the photo allows it, else half overlapping
        picked = []
        for _, y, x in cands:
            if all(abs(y - py) >= gap or abs(x - px) >= gap for py, px in picked):
                picked.append((y, x))
            if len(picked) == n:
                return picked
    if n == 2:  # the best crop sat between two others (a 448 px side, crops of 288 at 0, 72, 144): the best pair
        pairs = [(a[0] + b[0], a[1:], b[1:]) for i, a in enumerate(cands) for b in cands[i + 1 :]
                 if abs(a[1] - b[1]) >= side // 2 or abs(a[2] - b[2]) >= side // 2]
        if pairs:
            return list(max(pairs)[1:])
    return picked


def _mean_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two estimates of one kernel (same side), ``b`` shifted onto ``a`` by whole pixels, averaged."""
    (dy, dx), _ = best_shift(a, b, 2)
    return _centre((a + np.roll(b, (dy, dx), (0, 1))) / 2)


def _halves(g: np.ndarray) -> list[np.ndarray]:
    """The two halves of ``g`` along its long side: the confidence's two regions on a photo that holds no
    two crops at least half a side apart. Such a photo (a 256 px crop) used to be compared with itself,
    so its kernel had confidence 1 whatever the blur, and the kernel path took mildly blurred crops of
    real footage from 35 to 31 dB (docs/experiments.md, "The kernel path on slight blur"). Halves where
    two crops would fit half overlapping were tried, and cost the foreign shakes 0.9 dB (many read as
    varying)."""
    h, w = g.shape
    return [g[:, : w // 2], g[:, w // 2 :]] if w >= h else [g[: h // 2], g[h // 2 :]]


def similarity(a: np.ndarray, b: np.ndarray, max_shift: int = 4) -> float:
    """Normalised correlation of two kernels, at the best integer shift within ±``max_shift``."""
    na = float(np.linalg.norm(a))
    nb = float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        return 0.0
    return max(0.0, best_shift(a, b, max_shift)[1] / (na * nb))


def estimate(rgb: np.ndarray, cfg: EstimateConfig = EstimateConfig()) -> KernelEstimate:
    """One kernel for an H×W×3 photo (values as given), with its confidence (``KernelEstimate``)."""
    g = np.ascontiguousarray(rgb.mean(-1) if rgb.ndim == 3 else rgb, dtype=np.float32)
    # Long side to work_side at most, but never a short side under MIN_SIDE where the photo has one (a
    # long panorama shrunk by its long side alone was once refused as "too small").
    scale = min(1.0, max(cfg.work_side / max(g.shape), MIN_SIDE / min(g.shape)))
    ks = cfg.kernel_size
    if scale < 1:
        g = cv2.resize(g, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        ks = max(int(round(cfg.kernel_size * scale)) | 1, 7)
    if min(g.shape) < MIN_SIDE:
        h, w = rgb.shape[:2]
        return KernelEstimate(kernel=delta(1), confidence=0.0, scale=scale, agreement=0.0,
                              failed=f"the photo ({w}×{h} px) is too small to estimate a camera-shake kernel from "
                                     f"(at least {MIN_SIDE} px a side)")
    ks = min(ks, int(MAX_KERNEL_SHARE * min(g.shape)) | 1)
    sub = replace(cfg, kernel_size=ks)
    side = min(cfg.crop, *g.shape)
    corners = _regions(g, side)
    if len(corners) == 2:
        ks_found = [estimate_region(g[y : y + side, x : x + side], sub) for y, x in corners]
    else:  # the photo holds no two such crops apart: its two halves, each with a kernel it can hold
        halves = _halves(g)
        hs = min(ks, int(MAX_KERNEL_SHARE * min(halves[0].shape)) | 1)
        ks_found = [canvas(estimate_region(h, replace(sub, kernel_size=hs)), ks) for h in halves]
    conf = similarity(*ks_found)
    # The kernel itself: from the whole working image when it is small (a 70 px kernel is poorly read
    # from one 250 px crop), else the two regions' kernels aligned and averaged (a third estimate, on the
    # main_side crop with the most edges, cost more than both regions: docs/experiments.md, "The kernel
    # path on slight blur").
    k = estimate_region(g, sub) if max(g.shape) <= cfg.main_side else _mean_kernel(*ks_found)
    agree = max(similarity(k, r) for r in ks_found)
    if scale < 1:
        full = int(round(ks / scale)) | 1
        k = _resize_kernel(k, min(full, cfg.kernel_size | 1))
    return KernelEstimate(kernel=k, confidence=conf, scale=scale, agreement=agree)

