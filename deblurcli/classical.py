"""Classical baselines: Wiener deconvolution (given a kernel), unsharp masking, and deconvolution with a
spatially varying PSF field (per-cell Wiener, blended like the blur itself). All in linear light."""

from __future__ import annotations

import cv2
import numpy as np

from .synth.degrade import blend_weights, to_gamma, to_linear


def _otf(k: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    pad = np.zeros(shape, np.float64)
    kh, kw = k.shape
    pad[:kh, :kw] = k
    pad = np.roll(pad, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return np.fft.rfft2(pad)


def wiener_linear(lin: np.ndarray, k: np.ndarray, nsr: float = 3e-3) -> np.ndarray:
    """Wiener deconvolution of a linear-light H×W×C image; reflect-padded to avoid wrap-around ringing."""
    m = max(k.shape) * 2
    big = cv2.copyMakeBorder(lin, m, m, m, m, cv2.BORDER_REFLECT)
    K = _otf(k, big.shape[:2])
    filt = np.conj(K) / (np.abs(K) ** 2 + nsr)
    out = np.stack([np.fft.irfft2(np.fft.rfft2(big[..., c]) * filt, s=big.shape[:2]) for c in range(big.shape[2])], -1)
    return out[m:-m, m:-m].astype(np.float32)


def wiener(img: np.ndarray, k: np.ndarray, nsr: float = 3e-3) -> np.ndarray:
    return np.clip(to_gamma(np.clip(wiener_linear(to_linear(img), k, nsr), 0, 1)), 0, 1)


def unsharp(img: np.ndarray, sigma: float = 2.0, amount: float = 1.0) -> np.ndarray:
    blurred = cv2.GaussianBlur(img, (0, 0), sigma)
    return np.clip(img + amount * (img - blurred), 0, 1).astype(np.float32)


def field_deconvolve(img: np.ndarray, psfs: np.ndarray, nsr: float = 3e-3) -> np.ndarray:
    """Deconvolve with a (gh, gw, k, k) PSF field: each cell's Wiener result, blended bilinearly."""
    gh, gw = psfs.shape[:2]
    h, w = img.shape[:2]
    lin = to_linear(img)
    wts = blend_weights(h, w, gh, gw)
    out = np.zeros_like(lin)
    k = psfs.shape[2]
    for i in range(gh):
        for j in range(gw):
            wt = wts[i * gw + j]
            ys, xs = np.nonzero(wt.max(1) > 0)[0], np.nonzero(wt.max(0) > 0)[0]
            y0, y1 = max(ys[0] - 2 * k, 0), min(ys[-1] + 2 * k + 1, h)
            x0, x1 = max(xs[0] - 2 * k, 0), min(xs[-1] + 2 * k + 1, w)
            dec = wiener_linear(lin[y0:y1, x0:x1], psfs[i, j], nsr)
            out[y0:y1, x0:x1] += dec * wt[y0:y1, x0:x1, None]
    return np.clip(to_gamma(np.clip(out, 0, 1)), 0, 1)
