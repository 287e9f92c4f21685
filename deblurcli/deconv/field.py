"""The non-blind net (``archs.hqs``) with a spatially varying PSF field (a calibrated camera's
(gh, gw, k, k) field): each cell's region, with a margin, deconvolved by the net with that cell's PSF
(the whole region's FFT data step, ``engine.unrolled``), and the cells blended by the same bilinear
partition of unity that made the field's blur (``synth.degrade.blend_weights``), as
``classical.field_deconvolve`` blends its Wiener cells."""

from __future__ import annotations

import numpy as np

from ..engine.kernel import KernelField
from ..engine.unrolled import UnrolledRunner
from ..synth.degrade import blend_weights
from .psf import to_canvas


def restore_field(rgb: np.ndarray, psfs: np.ndarray, runner: UnrolledRunner, sigma: float) -> np.ndarray:
    """``rgb`` (H×W×3 in [0, 1]) deconvolved by the PSF field ``psfs`` (gh, gw, k, k) with noise ``sigma``."""
    gh, gw = psfs.shape[:2]
    h, w = rgb.shape[:2]
    wy, wx = blend_weights(h, 1, gh, 1)[:, :, 0], blend_weights(1, w, 1, gw)[:, 0, :]  # separable: (gh, H), (gw, W)
    canvas = runner.net.cfg.canvas
    m = max(3 * psfs.shape[2], 2 * runner.net.cfg.pad)  # margin: the blur, and its inverse, reach beyond the cell
    out = np.zeros(rgb.shape, np.float32)
    for i in range(gh):
        ys = np.flatnonzero(wy[i])
        y0, y1 = max(ys[0] - m, 0), min(ys[-1] + m + 1, h)
        for j in range(gw):
            xs = np.flatnonzero(wx[j])
            x0, x1 = max(xs[0] - m, 0), min(xs[-1] + m + 1, w)
            k = to_canvas(psfs[i, j], canvas)
            dec = runner.restore(np.ascontiguousarray(rgb[y0:y1, x0:x1]), KernelField.uniform(k, sigma))
            out[y0:y1, x0:x1] += dec * (wy[i, y0:y1, None] * wx[j, None, x0:x1])[..., None]
    return np.clip(out, 0, 1)
