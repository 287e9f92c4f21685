"""Classical baselines: Wiener deconvolution (given a kernel), unsharp masking, and deconvolution with a
spatially varying PSF field (per-cell Wiener, blended like the blur itself). All in linear light."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from .synth.degrade import field_cells, to_gamma, to_linear
from .synth.kernels import otf_canvas

# The noise-to-signal weight of the PSF step after calibrated deblurring (`deblur --prior`): how strongly
# the step keeps the net's output. Picked on simulated modules made from training photos, never the
# validation set (``scripts/psf_step_tune.py`` → docs/logs/psf_step_tune.txt).
PSF_STEP_NSR = 0.1


def wiener_linear(lin: np.ndarray, k: np.ndarray, nsr: float = 3e-3, ref: np.ndarray | None = None,
                  gradient: bool = False) -> np.ndarray:
    """Wiener deconvolution of a linear-light H×W×C image; reflect-padded to avoid wrap-around ringing
    (and on to a size the FFT is fast at). With ``ref`` (linear, same shape): the image closest to
    ``ref`` that the blur ``k`` turns into ``lin``, argmin ‖k∗x − lin‖² + nsr·‖x − ref‖² (plain Wiener
    is ``ref`` = 0). ``gradient``: the Tikhonov filter argmin ‖k∗x − lin‖² + nsr·‖∇x‖² instead (no
    ``ref``). float32 FFTs on all threads (torch.fft)."""
    m = max(k.shape) * 2
    h, w = lin.shape[:2]
    hh, ww = cv2.getOptimalDFTSize(h + 2 * m), cv2.getOptimalDFTSize(w + 2 * m)

    def padded(a: np.ndarray) -> torch.Tensor:
        big = cv2.copyMakeBorder(np.ascontiguousarray(a, np.float32), m, hh - h - m, m, ww - w - m, cv2.BORDER_REFLECT)
        return torch.from_numpy(big.reshape(hh, ww, -1)).permute(2, 0, 1)

    K = torch.fft.rfft2(torch.from_numpy(otf_canvas(np.asarray(k, np.float32), (hh, ww))))
    if gradient:  # |D|² of the forward differences: 4 sin²(πf/n) per axis
        fy = torch.fft.fftfreq(hh)[:, None]
        fx = torch.fft.rfftfreq(ww)[None, :]
        reg = 4 * torch.sin(torch.pi * fy) ** 2 + 4 * torch.sin(torch.pi * fx) ** 2
        den = K.real**2 + K.imag**2 + nsr * reg
        den[0, 0] = max(float(den[0, 0]), 1e-8)  # a kernel that sums to 1 passes the mean level
    else:
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


# The weight of the Tikhonov filter's ‖∇x‖² prior (``defocus_deconvolve``): chosen on training photos
# (BSDS500 test) blurred by smooth defocus maps in each space, σ 0.01 (docs/experiments.md).
TIKHONOV_LAM = 1e-2


def defocus_deconvolve(img: np.ndarray, radius_map: np.ndarray, lam: float = TIKHONOV_LAM, linear: bool = True) -> np.ndarray:
    """The classical baseline given a defocus blur map (disk radius per pixel, px): the Tikhonov filter
    (‖∇x‖² prior) of each disk the blur is rendered from (``synth.degrade.disk_levels``), blended per pixel
    as ``synth.degrade.defocus_blur`` blends the disks. ``linear``: the blur acts on linear light (a lens);
    False: on the sRGB values themselves."""
    from .synth.degrade import disk_levels
    from .synth.kernels import disk_kernel

    step = 0.25
    levels = disk_levels(step)
    src = to_linear(img) if linear else np.asarray(img, np.float32)
    r = np.clip(radius_map, levels[0], levels[-1])
    idx = np.clip(np.searchsorted(levels, r) - 1, 0, len(levels) - 2)
    f = ((r - levels[idx]) / step)[..., None].astype(np.float32)
    out = np.zeros_like(src)
    done: dict[int, np.ndarray] = {}

    def level(i: int) -> np.ndarray:
        if i not in done:
            done[i] = wiener_linear(src, disk_kernel(float(levels[i])), lam, gradient=True)
        return done[i]

    for i in np.unique(idx):
        sel = (idx == i)[..., None]
        out += sel * ((1 - f) * level(int(i)) + f * level(int(i) + 1))
    out = np.clip(out, 0, 1)
    return (to_gamma(out) if linear else out).astype(np.float32)


def unsharp(img: np.ndarray, sigma: float = 2.0, amount: float = 1.0) -> np.ndarray:
    blurred = cv2.GaussianBlur(img, (0, 0), sigma)
    return np.clip(img + amount * (img - blurred), 0, 1).astype(np.float32)


def field_deconvolve(img: np.ndarray, psfs: np.ndarray, nsr: float = 3e-3, ref: np.ndarray | None = None,
                     linear: bool = True) -> np.ndarray:
    """Deconvolve with a (gh, gw, k, k) PSF field: each cell's Wiener result, blended bilinearly. With
    ``ref`` (an estimate of the sharp image, gamma, same shape): each cell's result is the image closest
    to ``ref`` that the cell's PSF turns into ``img`` (``wiener_linear``), a data-consistency step.
    ``linear``: the blur acts on linear light (a lens); False: on the sRGB values themselves."""
    to_lin = to_linear if linear else (lambda a: a)  # noqa: E731
    lin = to_lin(img)
    rlin = None if ref is None else to_lin(ref)
    out = np.zeros_like(lin)
    for i, j, (y0, y1, x0, x1), wt in field_cells(img.shape[0], img.shape[1], psfs.shape[0], psfs.shape[1], 2 * psfs.shape[2]):
        r = None if rlin is None else rlin[y0:y1, x0:x1]
        out[y0:y1, x0:x1] += wiener_linear(lin[y0:y1, x0:x1], psfs[i, j], nsr, r) * wt[..., None]
    out = np.clip(out, 0, 1)
    return np.clip(to_gamma(out), 0, 1) if linear else out
