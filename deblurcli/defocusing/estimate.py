"""Edge-based defocus blur-map estimation (Zhuo & Sim 2011) with edge-aware propagation.

At edges, re-blurring the image with a known Gaussian σ0 lowers the gradient by a ratio
R = |∇I| / |∇(I ∗ g_σ0)| that depends only on the edge's own blur σ: σ = σ0 / sqrt(R² − 1). The sparse
σ at Canny edges is converted to a disk radius through a monotone table measured on synthetic disk
blur (dead-leaves images and natural training photos, radii 0.5–6 px; a test holds it: a step in blur is
recovered within 0.5 px),
and propagated to every pixel by ``maps.propagate``. σ0 = 3 keeps the ratio
sensitive up to 6 px radii (σ0 = 1 saturates above ~3 px).

Work happens on a copy whose long side is at most ``work_side``; radii are scaled back to the photo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    import torch

    from ..hub.registry import Registry

from .maps import edge_mask, propagate

SIGMA0 = 3.0
# median σ measured at edges of disk-blurred dead-leaves images (σ0 = 3) -> the disk radius
# Mean of two measurements of the median σ at each radius: dead-leaves images (5 images, seeds 100-104)
# and natural photos with sensor noise (12 BSDS training crops, never the validation set). Natural
# edges are softer than disc edges, so the two differ by ~20%; the mean splits the difference (on dead
# leaves it reads ~10% low, on natural photos ~10% high).
SIGMA_TABLE = np.array([0.546, 0.7, 0.764, 0.926, 1.092, 1.278, 1.458, 1.667, 1.82, 1.996, 2.13, 2.304])
RADIUS_TABLE = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0])
R_MIN, R_MAX = 0.5, 6.0


def sigma_to_radius(sigma: np.ndarray) -> np.ndarray:
    """Monotone map from the measured edge σ to a disk radius, extrapolated linearly past 6 px."""
    r = np.interp(sigma, SIGMA_TABLE, RADIUS_TABLE)
    slope = (RADIUS_TABLE[-1] - RADIUS_TABLE[-2]) / (SIGMA_TABLE[-1] - SIGMA_TABLE[-2])
    return np.where(sigma > SIGMA_TABLE[-1], RADIUS_TABLE[-1] + (sigma - SIGMA_TABLE[-1]) * slope, r)


def sparse_sigma(img: np.ndarray, sigma0: float = SIGMA0) -> tuple[np.ndarray, np.ndarray]:
    """(σ at edges, edge mask) of an RGB float image."""
    g = cv2.cvtColor(np.clip(img, 0, 1).astype(np.float32), cv2.COLOR_RGB2GRAY)
    rb = cv2.GaussianBlur(g, (0, 0), sigma0)

    def grad(a: np.ndarray) -> np.ndarray:
        return np.hypot(cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(a, cv2.CV_32F, 0, 1, ksize=3))

    g1, g2 = grad(g), grad(rb)
    mask = edge_mask(img) & (g1 > 0.02)
    ratio = g1 / np.maximum(g2, 1e-6)
    valid = mask & (ratio > 1.0 + 1e-3)
    sigma = np.zeros_like(g)
    sigma[valid] = sigma0 / np.sqrt(ratio[valid] ** 2 - 1)
    return sigma, valid


BLOCK = 16


def block_median(values: np.ndarray, mask: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Median of the masked values in every block×block cell (robust to outlier edges); NaN where a
    cell has fewer than 3 known values."""
    h, w = values.shape
    hb, wb = -(-h // block), -(-w // block)
    a = np.full((hb * block, wb * block), np.nan, np.float32)
    a[:h, :w] = np.where(mask, values, np.nan)
    cells = a.reshape(hb, block, wb, block).transpose(0, 2, 1, 3).reshape(hb, wb, -1)
    counts = np.isfinite(cells).sum(-1)
    med = np.full((hb, wb), np.nan, np.float32)
    ok = counts >= 3
    med[ok] = np.nanmedian(cells[ok], axis=-1)
    return med, ok


def _refine(dense: np.ndarray, img: np.ndarray) -> np.ndarray:
    """Edge-aware smoothing of the dense map, guided by the image (blur changes at object edges)."""
    from .maps import _guided

    gray = cv2.cvtColor(np.clip(img, 0, 1).astype(np.float32), cv2.COLOR_RGB2GRAY)
    return _guided(gray, dense.astype(np.float32), 8, 1e-3)


def _work_copy(img: np.ndarray, work_side: int) -> tuple[np.ndarray, float]:
    h, w = img.shape[:2]
    s = min(1.0, work_side / max(h, w))
    if s < 1:
        img = cv2.resize(img, (max(int(w * s), 1), max(int(h * s), 1)), interpolation=cv2.INTER_AREA)
    return img, s


def _to_photo(dense: np.ndarray, shape: tuple[int, int], s: float) -> np.ndarray:
    """Radii found on the work copy, resampled to the photo and rescaled to its pixels."""
    h, w = shape
    if s < 1:
        dense = cv2.resize(dense, (w, h), interpolation=cv2.INTER_LINEAR) / s
    return dense.astype(np.float32)


def estimate_radius(img: np.ndarray, work_side: int = 1024) -> np.ndarray:
    """Dense per-pixel disk radius (px, at the photo's resolution) for an H×W×3 float image."""
    small, s = _work_copy(img, work_side)
    sigma, mask = sparse_sigma(small)
    r = np.clip(sigma_to_radius(sigma), R_MIN, R_MAX * 2).astype(np.float32)
    med, known = block_median(r, mask, BLOCK)
    coarse = cv2.resize(small, (med.shape[1], med.shape[0]), interpolation=cv2.INTER_AREA)
    grid = propagate(np.nan_to_num(med), known, coarse, radius=2)
    up = cv2.resize(grid, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_LINEAR)
    dense = _refine(up, small)
    return _to_photo(np.clip(dense, R_MIN, R_MAX * 2), img.shape[:2], s)


def estimate_radius_learned(img: np.ndarray, net: "torch.nn.Module", work_side: int = 1024) -> np.ndarray:
    """The learned estimator (``archs.blurmap``) on the same work copy; radii in the photo's pixels.

    The work copy is at most ``work_side`` on its long side (≤ 1 MP for 4:3), small enough to run
    whole: no tiling, so no seams in the map."""
    import torch

    from ..engine.runner import pick_precision

    small, s = _work_copy(img, work_side)
    x = torch.from_numpy(np.ascontiguousarray(small.transpose(2, 0, 1)))[None].float()
    dev = next(net.parameters()).device
    dt = pick_precision("auto", dev)
    with torch.inference_mode(), torch.autocast(dev.type, dtype=dt, enabled=dt != torch.float32):
        r = net.eval()(x.to(dev)).float()[0, 0].cpu().numpy()
    return _to_photo(np.clip(r, R_MIN, R_MAX * 2), img.shape[:2], s)


def load_learned_estimator(registry: "Registry | None" = None) -> "torch.nn.Module":
    """The registered learned estimator (weights.toml's ``[defaults] blurmap``), verified and loaded."""
    from ..errors import UsageError
    from ..hub.registry import load_registry
    from ..models.loader import load_model

    reg = registry or load_registry()
    if "blurmap" not in reg.defaults:
        raise UsageError("weights.toml names no learned blur-map estimator ([defaults] blurmap)", "use --estimator edge")
    net, _ = load_model(None, "blurmap", registry=reg)  # refuses what is not a blur-map estimator
    return net
