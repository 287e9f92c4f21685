"""Classical baselines: Wiener deconvolution (given a kernel), unsharp masking, and deconvolution with a
spatially varying PSF field (per-cell Wiener, blended like the blur itself). All in linear light."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from .synth.degrade import blend_weights, to_gamma, to_linear
from .synth.kernels import otf_canvas

# The noise-to-signal weight of the PSF step after calibrated deblurring (`deblur --prior`): how strongly
# the step keeps the net's output. Picked on simulated modules made from training photos, never the
# validation set (``scripts/psf_step_tune.py`` → docs/psf_step_tune.txt).
PSF_STEP_NSR = 0.1


def wiener_linear(lin: np.ndarray, k: np.ndarray, nsr: float = 3e-3, ref: np.ndarray | None = None) -> np.ndarray:
    """Wiener deconvolution of a linear-light H×W×C image; reflect-padded to avoid wrap-around ringing
    (and on to a size the FFT is fast at). With ``ref`` (linear, same shape): the image closest to
    ``ref`` that the blur ``k`` turns into ``lin``, argmin ‖k∗x − lin‖² + nsr·‖x − ref‖² (plain Wiener
    is ``ref`` = 0). float32 FFTs on all threads (torch.fft)."""
    m = max(k.shape) * 2
    h, w = lin.shape[:2]
    hh, ww = cv2.getOptimalDFTSize(h + 2 * m), cv2.getOptimalDFTSize(w + 2 * m)

    def padded(a: np.ndarray) -> torch.Tensor:
        big = cv2.copyMakeBorder(np.ascontiguousarray(a, np.float32), m, hh - h - m, m, ww - w - m, cv2.BORDER_REFLECT)
        return torch.from_numpy(big.reshape(hh, ww, -1)).permute(2, 0, 1)

    K = torch.fft.rfft2(torch.from_numpy(otf_canvas(np.asarray(k, np.float32), (hh, ww))))
    den = K.real**2 + K.imag**2 + nsr
    f = torch.fft.rfft2(padded(lin)) * (K.conj() / den)
    if ref is not None:
        f += torch.fft.rfft2(padded(ref)) * (nsr / den)
    out = torch.fft.irfft2(f, s=(hh, ww))[:, m : m + h, m : m + w]
    return np.ascontiguousarray(out.permute(1, 2, 0).numpy()).reshape(lin.shape)


def wiener(img: np.ndarray, k: np.ndarray, nsr: float = 3e-3, linear: bool = True) -> np.ndarray:
    """Wiener deconvolution of a gamma-encoded image, in linear light, or with ``linear=False`` on the
    sRGB values themselves (for blur that was applied to them)."""
    if not linear:
        return np.clip(wiener_linear(img, k, nsr), 0, 1).astype(np.float32)
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
