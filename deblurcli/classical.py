"""Classical baselines: Wiener deconvolution (given a kernel), unsharp masking, and deconvolution with a
spatially varying PSF field (per-cell Wiener, blended like the blur itself). All in linear light."""

from __future__ import annotations

import cv2
import numpy as np

from .synth.degrade import blend_weights, to_gamma, to_linear

# The noise-to-signal weight of the PSF step after calibrated deblurring (`deblur --prior`): how strongly
# the step keeps the net's output. Picked on simulated modules made from training photos, never the
# validation set (``scripts/psf_step_tune.py`` → docs/psf_step_tune.txt).
PSF_STEP_NSR = 0.1


def _otf(k: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    pad = np.zeros(shape, np.float64)
    kh, kw = k.shape
    pad[:kh, :kw] = k
    pad = np.roll(pad, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return np.fft.rfft2(pad)


def wiener_linear(lin: np.ndarray, k: np.ndarray, nsr: float = 3e-3, ref: np.ndarray | None = None) -> np.ndarray:
    """Wiener deconvolution of a linear-light H×W×C image; reflect-padded to avoid wrap-around ringing.
    With ``ref`` (linear, same shape): the image closest to ``ref`` that the blur ``k`` turns into
    ``lin``, argmin ‖k∗x − lin‖² + nsr·‖x − ref‖² (plain Wiener is ``ref`` = 0)."""
    m = max(k.shape) * 2
    big = cv2.copyMakeBorder(lin, m, m, m, m, cv2.BORDER_REFLECT)
    K = _otf(k, big.shape[:2])
    den = np.abs(K) ** 2 + nsr
    filt = np.conj(K) / den
    rbig = None if ref is None else cv2.copyMakeBorder(ref, m, m, m, m, cv2.BORDER_REFLECT)
    chans = []
    for c in range(big.shape[2]):
        f = np.fft.rfft2(big[..., c]) * filt
        if rbig is not None:
            f += np.fft.rfft2(rbig[..., c]) * (nsr / den)
        chans.append(np.fft.irfft2(f, s=big.shape[:2]))
    return np.stack(chans, -1)[m:-m, m:-m].astype(np.float32)


def wiener(img: np.ndarray, k: np.ndarray, nsr: float = 3e-3) -> np.ndarray:
    return np.clip(to_gamma(np.clip(wiener_linear(to_linear(img), k, nsr), 0, 1)), 0, 1)


def unsharp(img: np.ndarray, sigma: float = 2.0, amount: float = 1.0) -> np.ndarray:
    blurred = cv2.GaussianBlur(img, (0, 0), sigma)
    return np.clip(img + amount * (img - blurred), 0, 1).astype(np.float32)


def field_deconvolve(img: np.ndarray, psfs: np.ndarray, nsr: float = 3e-3, ref: np.ndarray | None = None) -> np.ndarray:
    """Deconvolve with a (gh, gw, k, k) PSF field: each cell's Wiener result, blended bilinearly. With
    ``ref`` (an estimate of the sharp image, gamma, same shape): each cell's result is the image closest
    to ``ref`` that the cell's PSF turns into ``img`` (``wiener_linear``), a data-consistency step."""
    gh, gw = psfs.shape[:2]
    h, w = img.shape[:2]
    lin = to_linear(img)
    rlin = None if ref is None else to_linear(ref)
    wy, wx = blend_weights(h, 1, gh, 1)[:, :, 0], blend_weights(1, w, 1, gw)[:, 0, :]  # separable: (gh, H), (gw, W)
    out = np.zeros_like(lin)
    k = psfs.shape[2]
    for i in range(gh):
        ys = np.flatnonzero(wy[i])
        y0, y1 = max(ys[0] - 2 * k, 0), min(ys[-1] + 2 * k + 1, h)
        for j in range(gw):
            xs = np.flatnonzero(wx[j])
            x0, x1 = max(xs[0] - 2 * k, 0), min(xs[-1] + 2 * k + 1, w)
            r = None if rlin is None else rlin[y0:y1, x0:x1]
            dec = wiener_linear(lin[y0:y1, x0:x1], psfs[i, j], nsr, r)
            out[y0:y1, x0:x1] += dec * (wy[i, y0:y1, None] * wx[j, None, x0:x1])[..., None]
    return np.clip(to_gamma(np.clip(out, 0, 1)), 0, 1)
