"""The non-blind net (``archs.hqs``) with a spatially varying PSF field (a calibrated camera's
(gh, gw, k, k) field): each cell's region, with a margin, deconvolved by the net with that cell's PSF
(the whole region's FFT data step, ``engine.unrolled``), and the cells blended by the same bilinear
partition of unity that made the field's blur (``synth.degrade.blend_weights``), as
``classical.field_deconvolve`` blends its Wiener cells."""

from __future__ import annotations

import numpy as np

from ..engine.kernel import KernelField
from ..engine.unrolled import UnrolledRunner
from ..synth.degrade import field_cells
from .psf import to_canvas


def restore_field(rgb: np.ndarray, psfs: np.ndarray, runner: UnrolledRunner, sigma: float) -> np.ndarray:
    """``rgb`` (H×W×3 in [0, 1]) deconvolved by the PSF field ``psfs`` (gh, gw, k, k) with noise ``sigma``."""
    canvas = runner.net.cfg.canvas
    m = max(3 * psfs.shape[2], 2 * runner.net.cfg.pad)  # margin: the blur, and its inverse, reach beyond the cell
    out = np.zeros(rgb.shape, np.float32)
    for i, j, (y0, y1, x0, x1), wt in field_cells(rgb.shape[0], rgb.shape[1], psfs.shape[0], psfs.shape[1], m):
        field = KernelField.uniform(to_canvas(psfs[i, j], canvas), sigma)
        out[y0:y1, x0:x1] += runner.restore(np.ascontiguousarray(rgb[y0:y1, x0:x1]), field) * wt[..., None]
    return np.clip(out, 0, 1)
