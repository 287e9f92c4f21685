"""Estimate the PSF field from an aligned sharp/blurred pair: regularised least squares per grid cell.

In each cell (Hann-windowed, linear light) the kernel K minimises ‖K∗S − B‖² + λ‖∇K‖², solved in the
Fourier domain: K̂ = conj(Ŝ)·B̂ / (|Ŝ|² + λ·|∇̂|²), then cropped to ``size``, clipped at 0, normalised
and centred. Width and anisotropy come from the kernel's second moments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..synth.degrade import LensField, to_linear


@dataclass(frozen=True)
class PsfStats:
    sigma_major: float  # px, sqrt of the larger eigenvalue of the kernel's covariance
    sigma_minor: float
    angle: float  # radians, direction of the major axis

    @property
    def width(self) -> float:
        return float(np.sqrt(self.sigma_major * self.sigma_minor))

    @property
    def anisotropy(self) -> float:
        return float(self.sigma_major / max(self.sigma_minor, 1e-6))


def psf_stats(k: np.ndarray) -> PsfStats:
    n = k.shape[0]
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    s = k.sum()
    cy, cx = (k * yy).sum() / s, (k * xx).sum() / s
    cyy = (k * (yy - cy) ** 2).sum() / s
    cxx = (k * (xx - cx) ** 2).sum() / s
    cxy = (k * (yy - cy) * (xx - cx)).sum() / s
    ev, evec = np.linalg.eigh(np.array([[cxx, cxy], [cxy, cyy]]))
    return PsfStats(float(np.sqrt(max(ev[1], 0))), float(np.sqrt(max(ev[0], 0))), float(np.arctan2(evec[1, 1], evec[0, 1])))


def _estimate_cell(s: np.ndarray, b: np.ndarray, size: int, lam: float) -> np.ndarray:
    h, w = s.shape
    win = np.outer(np.hanning(h), np.hanning(w))
    s = (s - s.mean()) * win
    b = (b - b.mean()) * win
    S, B = np.fft.fft2(s), np.fft.fft2(b)
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    grad = (2 * np.sin(np.pi * fy)) ** 2 + (2 * np.sin(np.pi * fx)) ** 2
    energy = (np.abs(S) ** 2).mean()
    K = np.conj(S) * B / (np.abs(S) ** 2 + lam * energy * grad + 1e-12)
    k = np.real(np.fft.ifft2(K))
    k = np.fft.fftshift(k)
    cy, cx = h // 2, w // 2
    r = size // 2
    k = k[cy - r : cy + r + 1, cx - r : cx + r + 1]
    k = np.clip(k, 0, None)
    k[k < 0.05 * k.max()] = 0  # suppress the noise floor
    if k.sum() <= 0:
        k = np.zeros((size, size))
        k[r, r] = 1
    return (k / k.sum()).astype(np.float32)


def estimate_field(sharp: np.ndarray, aligned_blur: np.ndarray, grid: int = 6, size: int = 25, lam: float = 0.02) -> np.ndarray:
    """(grid, grid, size, size) PSFs, one per cell of a grid×grid partition of the image."""
    s_lin = to_linear(sharp).mean(2)
    b_lin = to_linear(aligned_blur).mean(2)
    h, w = s_lin.shape
    out = np.zeros((grid, grid, size, size), np.float32)
    for i in range(grid):
        for j in range(grid):
            y0, y1 = i * h // grid, (i + 1) * h // grid
            x0, x1 = j * w // grid, (j + 1) * w // grid
            m = size  # grow the window a little for context
            ys, ye = max(y0 - m, 0), min(y1 + m, h)
            xs, xe = max(x0 - m, 0), min(x1 + m, w)
            out[i, j] = _estimate_cell(s_lin[ys:ye, xs:xe], b_lin[ys:ye, xs:xe], size, lam)
    return out


def width_errors(psfs: np.ndarray, field: LensField) -> np.ndarray:
    """(g, g) relative error of each estimated PSF's width against a known field's PSF at that cell's
    centre: how well ``estimate_field`` read a simulated lens (tests, ``scripts/psf_field_error.py``)."""
    g = psfs.shape[0]
    c = (np.arange(g) + 0.5) / g * 2 - 1
    return np.array([[abs(psf_stats(psfs[i, j]).width / psf_stats(field.psf(float(u), float(v))).width - 1)
                      for j, u in enumerate(c)] for i, v in enumerate(c)])
