"""Estimate the PSF field from an aligned sharp/blurred pair: regularised least squares per grid cell.

In each cell (Hann-windowed) the kernel K minimises ‖K∗S − B‖² + λ‖∇K‖², solved in the Fourier domain:
K̂ = conj(Ŝ)·B̂ / (|Ŝ|² + λ·|∇̂|²), then cropped to ``size``, clipped at 0, normalised and centred. Width
and anisotropy come from the kernel's second moments.

The blur acts in one of two spaces: a lens blurs linear light, but much processed and published data
carries blur on the sRGB values. ``blur_space`` reads which from the pair: the field is fitted in each
space on one half of every cell and scored on the other half (a held-out residual, in sRGB values), and
the space that predicts the held-out half better is the pair's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..synth.degrade import LensField, to_gamma, to_linear

SPACES = ("linear", "srgb")  # where the blur acts: on linear light (a lens), or on the sRGB values


def check_space(space: str) -> str:
    """``space`` if it is one of ``SPACES``, else the one-line ``UsageError`` of `--space`."""
    if space not in SPACES:
        from ..errors import UsageError

        raise UsageError(f"--space {space!r}: expected {' or '.join(SPACES)}")
    return space


def restore_in_space(restore, rgb: np.ndarray, space: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``restore`` (a core that learned blur of linear light, sRGB values in and out) on ``rgb`` whose
    blur acted in ``space``. For "srgb" the values are encoded once more and the result decoded back:
    blur k∗S on the sRGB values is, encoded, g(k∗g⁻¹(g(S))), the lens blur the core learned, of g(S)."""
    if space == "linear":
        return restore(rgb)
    return to_linear(restore(to_gamma(rgb)))


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


def _in_space(img: np.ndarray, space: str) -> np.ndarray:
    return (to_linear(img) if space == "linear" else img).mean(2)


def _windows(h: int, w: int, grid: int, m: int) -> list[tuple[int, int, int, int, int, int]]:
    """(i, j, ys, ye, xs, xe): each cell of the grid with ``m`` px of context around it."""
    out = []
    for i in range(grid):
        for j in range(grid):
            y0, y1 = i * h // grid, (i + 1) * h // grid
            x0, x1 = j * w // grid, (j + 1) * w // grid
            out.append((i, j, max(y0 - m, 0), min(y1 + m, h), max(x0 - m, 0), min(x1 + m, w)))
    return out


def estimate_field(sharp: np.ndarray, aligned_blur: np.ndarray, grid: int = 6, size: int = 25, lam: float = 0.02,
                   space: str = "linear") -> np.ndarray:
    """(grid, grid, size, size) PSFs, one per cell of a grid×grid partition of the image, of a blur that
    acts in ``space`` (``SPACES``)."""
    s_sp, b_sp = _in_space(sharp, space), _in_space(aligned_blur, space)
    h, w = s_sp.shape
    out = np.zeros((grid, grid, size, size), np.float32)
    for i, j, ys, ye, xs, xe in _windows(h, w, grid, size):  # each cell grown by a kernel's size for context
        out[i, j] = _estimate_cell(s_sp[ys:ye, xs:xe], b_sp[ys:ye, xs:xe], size, lam)
    return out


def _predict(sharp_grey: np.ndarray, k: np.ndarray, space: str) -> np.ndarray:
    """The sharp side blurred by ``k`` in ``space``, in sRGB values (``sharp_grey``: already in ``space``)."""
    import cv2

    b = cv2.filter2D(sharp_grey.astype(np.float32), -1, k[::-1, ::-1].astype(np.float32), borderType=cv2.BORDER_REFLECT)
    return to_gamma(np.clip(b, 0, 1)) if space == "linear" else b


def blur_space(sharp: np.ndarray, aligned_blur: np.ndarray, grid: int = 6, size: int = 25,
               lam: float = 0.02) -> tuple[str, dict[str, float]]:
    """The space the pair's blur acts in (``SPACES``) and each space's held-out residual (rms, sRGB
    values): in every cell the kernel is fitted on the left half and scored on the right half, and the
    other way round."""
    # One channel (green), not the mean: the gamma of a mean of linear values is not the mean of the
    # gamma values, which would count against the linear model on any coloured photo.
    s_g, b_srgb = sharp[..., 1], aligned_blur[..., 1]
    err: dict[str, float] = {}
    for space in SPACES:
        s_sp, b_sp = (to_linear(s_g), to_linear(b_srgb)) if space == "linear" else (s_g, b_srgb)
        h, w = s_sp.shape
        sq, n = 0.0, 0
        for _, _, ys, ye, xs, xe in _windows(h, w, grid, size):
            xm = (xs + xe) // 2
            for fit, test in (((xs, xm), (xm, xe)), ((xm, xe), (xs, xm))):
                if fit[1] - fit[0] < 2 * size or test[1] - test[0] < 2 * size:
                    continue
                k = _estimate_cell(s_sp[ys:ye, fit[0]:fit[1]], b_sp[ys:ye, fit[0]:fit[1]], size, lam)
                pred = _predict(s_sp[ys:ye, test[0]:test[1]], k, space)
                r = size  # the borders, where the blur reaches outside the test half, are not scored
                d = pred[r:-r, r:-r] - b_srgb[ys:ye, test[0]:test[1]][r:-r, r:-r]
                sq += float((d.astype(np.float64) ** 2).sum())
                n += d.size
        err[space] = float(np.sqrt(sq / max(n, 1)))
    return min(err, key=err.get), err  # type: ignore[arg-type]


def width_errors(psfs: np.ndarray, field: LensField) -> np.ndarray:
    """(g, g) relative error of each estimated PSF's width against a known field's PSF at that cell's
    centre: how well ``estimate_field`` read a simulated lens (tests, ``scripts/psf_field_error.py``)."""
    g = psfs.shape[0]
    c = (np.arange(g) + 0.5) / g * 2 - 1
    return np.array([[abs(psf_stats(psfs[i, j]).width / psf_stats(field.psf(float(u), float(v))).width - 1)
                      for j, u in enumerate(c)] for i, v in enumerate(c)])
