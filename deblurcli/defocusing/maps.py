"""Blur-map utilities shared by training and the defocus command."""

from __future__ import annotations

import cv2
import numpy as np
import torch


def edge_mask(img: np.ndarray, thresh: float = 0.08) -> np.ndarray:
    """Strong edges of an RGB float image (Canny on the luminance)."""
    g = cv2.cvtColor((np.clip(img, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    return cv2.Canny(g, int(thresh * 255), int(thresh * 2.5 * 255)) > 0


def propagate(sparse: np.ndarray, mask: np.ndarray, guide: np.ndarray, radius: int = 16, eps: float = 1e-3) -> np.ndarray:
    """Dense map from values known at ``mask``: normalised convolution at growing scales (each pixel
    takes the finest scale that reaches known values), then an edge-aware guided filter on the image."""
    h, w = mask.shape
    m = mask.astype(np.float32)
    v = sparse.astype(np.float32) * m
    out = np.zeros((h, w), np.float32)
    filled = np.zeros((h, w), bool)
    for s in (radius, radius * 4, radius * 16, max(h, w)):
        num = cv2.GaussianBlur(v, (0, 0), s)
        den = cv2.GaussianBlur(m, (0, 0), s)
        ok = (den > 1e-3) & ~filled
        out[ok] = num[ok] / den[ok]
        filled |= ok
        if filled.all():
            break
    if not filled.all():
        out[~filled] = float(np.median(sparse[mask])) if mask.any() else 1.0
    gray = cv2.cvtColor(np.clip(guide, 0, 1).astype(np.float32), cv2.COLOR_RGB2GRAY)
    return _guided(gray, out, radius, eps).astype(np.float32)


def _guided(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    k = (2 * r + 1, 2 * r + 1)
    mean = lambda t: cv2.boxFilter(t, -1, k, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    mi, ms = mean(guide), mean(src)
    cov = mean(guide * src) - mi * ms
    var = mean(guide * guide) - mi * mi
    a = cov / (var + eps)
    bb = ms - a * mi
    return mean(a) * guide + mean(bb)


def degrade_map(radius: np.ndarray, img: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
    """An estimator-like map (SVBR-Net's second training phase): keep the true radius at edges only,
    perturbed by noise, and propagate it edge-aware to a dense map."""
    mask = edge_mask(img)
    if mask.sum() < 16:
        return torch.from_numpy(radius.copy())
    noisy = radius * rng.uniform(0.9, 1.1) + rng.normal(0, 0.25, radius.shape).astype(np.float32)
    dense = propagate(np.clip(noisy, 0.5, 6.0), mask, img)
    return torch.from_numpy(np.clip(dense, 0.0, 6.0).astype(np.float32))
