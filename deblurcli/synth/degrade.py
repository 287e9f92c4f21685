"""Degradation pipeline. Images are float32 H×W×3 in [0, 1], gamma-encoded (sRGB-like, γ = 2.2);
every blur is applied in linear light (undo gamma, blur, re-apply).

``degrade(sharp, rng, kind)`` returns a ``Degraded`` with the blurred image and, where one exists,
the true per-pixel defocus radius map (SVBR-Net's input) and the kernel (for Wiener baselines); and
always the per-pixel second moments of the local PSF (H×W×3, px²: the DPE Net's auxiliary target).
"""

from __future__ import annotations

from collections.abc import Iterator

import functools
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from . import kernels

Kind = Literal["motion", "nonuniform", "defocus", "lens", "lenspsf", "gaussian", "sharp"]
GAMMA = 2.2


@dataclass(frozen=True)
class LensField:
    """A camera module's spatially varying blur: the parameters of ``kernels.lens_psf``."""

    base: float
    growth: float
    anisotropy: float
    twist: float
    grid: int = 5

    @classmethod
    def random(cls, rng: np.random.Generator) -> "LensField":
        return cls(
            base=float(rng.uniform(0.4, 1.8)),
            growth=float(rng.uniform(0.5, 3.0)),
            anisotropy=float(rng.uniform(0.0, 1.5)),
            twist=float(rng.choice([0.0, np.pi / 2])),
        )

    def psf(self, u: float, v: float) -> np.ndarray:
        return kernels.lens_psf(u, v, self.base, self.growth, self.anisotropy, self.twist)


@dataclass
class Degraded:
    blurred: np.ndarray
    radius_map: np.ndarray | None = None
    kernel: np.ndarray | None = None
    moments: np.ndarray | None = None  # H×W×(E[x²], E[y²], E[xy]) of the PSF at each pixel


def constant_moments(h: int, w: int, k: np.ndarray | None) -> np.ndarray:
    m = np.zeros(3, np.float32) if k is None else kernels.second_moments(k)
    return np.broadcast_to(m, (h, w, 3)).copy()


def field_moments(psfs: list[np.ndarray], wts: np.ndarray) -> np.ndarray:
    """Moments of the blended PSF at every pixel, for the blend weights ``wts`` (``blend_weights``)."""
    m = np.stack([kernels.second_moments(k) for k in psfs])  # (gh·gw, 3)
    return np.einsum("khw,kc->hwc", wts, m).astype(np.float32)


def disk_levels(step: float = 0.25) -> np.ndarray:
    """The disk radii ``defocus_blur`` renders (0.5-6 px, as in SVBR-Net); radii between two levels
    blend their two disks."""
    return np.arange(0.5, 6.0 + 1e-6, step)


@functools.lru_cache(maxsize=1)
def _disk_level_moments() -> tuple[np.ndarray, np.ndarray]:
    levels = disk_levels()
    return levels, np.array([kernels.second_moments(kernels.disk_kernel(r))[0] for r in levels])


def disk_moments(radius_map: np.ndarray) -> np.ndarray:
    """Moments of ``defocus_blur``'s PSF: its rendered disks, blended linearly between radius levels
    (E[x²] = E[y²] ≈ r²/4 plus the anti-aliasing's share; E[xy] = 0)."""
    levels, mxx = _disk_level_moments()
    q = np.interp(radius_map, levels, mxx).astype(np.float32)
    return np.stack([q, q, np.zeros_like(q)], -1)


def to_linear(img: np.ndarray) -> np.ndarray:
    return np.power(np.clip(img, 0, 1), GAMMA, dtype=np.float32)


def to_gamma(img: np.ndarray) -> np.ndarray:
    return np.power(np.clip(img, 0, 1), 1 / GAMMA, dtype=np.float32)


def convolve(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Convolution (not correlation) with reflected borders."""
    return cv2.filter2D(img, -1, np.ascontiguousarray(k[::-1, ::-1]), borderType=cv2.BORDER_REFLECT)


def blend_weights(h: int, w: int, gh: int, gw: int, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Bilinear partition-of-unity weights (gh·gw, H, W) for PSFs on a gh×gw grid of cell centres; with
    ``box`` = (y0, y1, x0, x1), only that window of the H×W sensor (it may reach beyond the edges,
    where the edge cells' PSFs hold)."""
    def axis(lo: int, hi: int, n: int, g: int) -> np.ndarray:
        pos = (np.arange(lo, hi) + 0.5) / n * g - 0.5  # in grid units
        pos = np.clip(pos, 0, g - 1)
        wts = np.zeros((g, hi - lo), np.float32)
        i0 = np.floor(pos).astype(int)
        i1 = np.minimum(i0 + 1, g - 1)
        f = (pos - i0).astype(np.float32)
        np.add.at(wts, (i0, np.arange(hi - lo)), 1 - f)
        np.add.at(wts, (i1, np.arange(hi - lo)), f)
        return wts

    y0, y1, x0, x1 = box or (0, h, 0, w)
    wy, wx = axis(y0, y1, h, gh), axis(x0, x1, w, gw)
    return (wy[:, None, :, None] * wx[None, :, None, :]).reshape(gh * gw, y1 - y0, x1 - x0)


def field_cells(h: int, w: int, gh: int, gw: int, margin: int) -> Iterator[tuple[int, int, tuple[int, int, int, int], np.ndarray]]:
    """The cells of a gh×gw PSF field over an h×w image, for deconvolving cell by cell: (i, j, the
    region (y0, y1, x0, x1) where cell (i, j)'s weight is non-zero plus ``margin``, that region's
    bilinear weight, ``blend_weights``'s partition of unity)."""
    wy, wx = blend_weights(h, 1, gh, 1)[:, :, 0], blend_weights(1, w, 1, gw)[:, 0, :]  # separable: (gh, H), (gw, W)
    for i in range(gh):
        ys = np.flatnonzero(wy[i])
        y0, y1 = max(ys[0] - margin, 0), min(ys[-1] + margin + 1, h)
        for j in range(gw):
            xs = np.flatnonzero(wx[j])
            x0, x1 = max(xs[0] - margin, 0), min(xs[-1] + margin + 1, w)
            yield i, j, (y0, y1, x0, x1), wy[i, y0:y1, None] * wx[j, None, x0:x1]


def field_blur(lin: np.ndarray, psfs: list[np.ndarray], gh: int, gw: int, wts: np.ndarray | None = None) -> np.ndarray:
    """Spatially varying blur: blur with each grid PSF, blend with bilinear weights (filter flow)."""
    if wts is None:
        wts = blend_weights(lin.shape[0], lin.shape[1], gh, gw)
    h, w = lin.shape[:2]
    out = np.zeros_like(lin)
    for k, wt in zip(psfs, wts):
        ys, xs = np.flatnonzero(wt.any(1)), np.flatnonzero(wt.any(0))
        if ys.size == 0:
            continue
        # convolve only where this PSF's weight is non-zero, plus the kernel's reach (exact: the
        # borders the crop adds lie outside that region, the image's own borders stay reflected)
        m = k.shape[0] // 2 + 1
        y0, y1, x0, x1 = ys[0], ys[-1] + 1, xs[0], xs[-1] + 1
        cy0, cy1, cx0, cx1 = max(y0 - m, 0), min(y1 + m, h), max(x0 - m, 0), min(x1 + m, w)
        part = convolve(lin[cy0:cy1, cx0:cx1], k)[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0]
        out[y0:y1, x0:x1] += part * wt[y0:y1, x0:x1, None]
    return out


def lens_psfs(field: LensField) -> list[np.ndarray]:
    """The field's PSFs on its grid of cell centres, row by row."""
    g = field.grid
    centres = (np.arange(g) + 0.5) / g * 2 - 1
    return [field.psf(float(u), float(v)) for v in centres for u in centres]


def lens_blur(lin: np.ndarray, field: LensField) -> np.ndarray:
    return field_blur(lin, lens_psfs(field), field.grid, field.grid)


def _field_degraded(lin: np.ndarray, psfs: list[np.ndarray], g: int) -> Degraded:
    wts = blend_weights(lin.shape[0], lin.shape[1], g, g)
    return Degraded(to_gamma(field_blur(lin, psfs, g, g, wts)), moments=field_moments(psfs, wts))


def smooth_radius_map(rng: np.random.Generator, h: int, w: int, rmin: float = 0.5, rmax: float = 6.0) -> np.ndarray:
    """A smooth, depth-like map of disk radii: low-frequency noise plus a ramp, in [rmin, rmax]."""
    coarse = rng.random((4, 4)).astype(np.float32)
    m = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(ang) * xx / w + np.sin(ang) * yy / h)
    m = m + rng.uniform(0, 1.5) * ramp
    m = (m - m.min()) / max(float(np.ptp(m)), 1e-6)
    lo = rng.uniform(rmin, rmax * 0.5)
    hi = rng.uniform(lo, rmax)
    return (lo + m * (hi - lo)).astype(np.float32)


def defocus_blur(lin: np.ndarray, radius_map: np.ndarray, step: float = 0.25) -> np.ndarray:
    """Spatially varying disk blur: radii quantised in ``step`` px, layers blended linearly."""
    levels = disk_levels(step)
    r = np.clip(radius_map, levels[0], levels[-1])
    idx = np.clip(np.searchsorted(levels, r) - 1, 0, len(levels) - 2)
    out = np.zeros_like(lin)
    for i in np.unique(idx):
        sel = idx == i
        f = ((r - levels[i]) / step)[..., None]
        wlo, whi = (1 - f) * sel[..., None], f * sel[..., None]
        out += convolve(lin, kernels.disk_kernel(levels[i])) * wlo + convolve(lin, kernels.disk_kernel(levels[i + 1])) * whi
    return out


def degrade(sharp: np.ndarray, rng: np.random.Generator, kind: Kind, field: LensField | None = None) -> Degraded:
    """Blur ``sharp`` (gamma-encoded) with a random blur of ``kind``; no noise (see ``sensor``)."""
    h, w = sharp.shape[:2]
    if kind == "sharp":
        return Degraded(sharp.copy(), moments=constant_moments(h, w, None))
    lin = to_linear(sharp)
    if kind == "motion":
        k = kernels.motion_kernel(rng, int(rng.choice([15, 25, 41])))
        return Degraded(to_gamma(convolve(lin, k)), kernel=k, moments=constant_moments(h, w, k))
    if kind == "gaussian":
        s1 = rng.uniform(0.5, 3.0)
        k = kernels.gaussian_kernel(s1, s1 * rng.uniform(0.4, 1.0), rng.uniform(0, np.pi))
        return Degraded(to_gamma(convolve(lin, k)), kernel=k, moments=constant_moments(h, w, k))
    if kind == "nonuniform":
        g = int(rng.integers(2, 4))
        psfs = [kernels.motion_kernel(rng, 25) for _ in range(g * g)]
        return _field_degraded(lin, psfs, g)
    if kind == "lenspsf":  # one PSF of a random lens field at a random place: a crop's lens blur, one kernel
        field = field or LensField.random(rng)
        k = field.psf(float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)))
        return Degraded(to_gamma(convolve(lin, k)), kernel=k, moments=constant_moments(h, w, k))
    if kind == "lens":
        field = field or LensField.random(rng)
        return _field_degraded(lin, lens_psfs(field), field.grid)
    if kind == "defocus":
        rmap = smooth_radius_map(rng, h, w)
        return Degraded(to_gamma(defocus_blur(lin, rmap)), radius_map=rmap, moments=disk_moments(rmap))
    raise ValueError(f"unknown degradation kind {kind!r}")


def sensor(img: np.ndarray, rng: np.random.Generator, noise: float = 0.02, jpeg_p: float = 0.3) -> np.ndarray:
    """Sensor realism: Poisson-Gaussian noise (linear light), JPEG re-encoding. No exposure change:
    applied to the input alone it asks the network for a brightness correction it cannot know, which
    left the output's mean level free to drift in training (``synth.data.augment`` varies exposure
    for input and target together)."""
    lin = to_linear(img)
    a = rng.uniform(0, noise) ** 2  # Poisson gain
    b = rng.uniform(0, noise / 2)  # Gaussian read noise
    std = np.sqrt(a * np.clip(lin, 0, 1) + b * b).astype(np.float32)
    lin = lin + std * rng.standard_normal(lin.shape, dtype=np.float32)
    return maybe_jpeg(to_gamma(lin), rng, jpeg_p)


def maybe_jpeg(img: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """With probability ``p``, ``img`` (gamma, H×W×3) re-encoded as a JPEG of quality 60–95."""
    if rng.random() < p:
        q = int(rng.integers(60, 96))
        ok, buf = cv2.imencode(".jpg", (img * 255 + 0.5).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, q])
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).astype(np.float32) / 255
    return img


# --- the wide distribution (the generalisation issue): blur as others make it ---------------------

def tone_exponent(rng: np.random.Generator) -> float:
    """The exponent of the domain a wide-distribution blur is convolved in: 1 = the sRGB values
    themselves (how most benchmarks blur), 2.2 = linear light (how a camera blurs), otherwise a random
    camera-like tone curve x ↦ x^(1/γ)."""
    u = rng.random()
    # Half in sRGB values: blur there keeps the photo's mean level, as the real GoPro pairs do (their
    # input is 0.03/255 off the truth); linear light and concave tone curves make the blurred photo
    # brighter than the sharp one, and at 35% + 30% (and highlights pushed 2-12× beyond white) the net
    # learnt to darken every photo by 2-6/255 within 1,500 steps (docs/learning_curves.md, dpa-lite-wide).
    return 1.0 if u < 0.5 else GAMMA if u < 0.75 else float(rng.uniform(1.4, 2.6))


def wide_blur(sharp: np.ndarray, k: np.ndarray, rng: np.random.Generator, gamma: float,
              highlight_p: float = 0.1) -> np.ndarray:
    """``sharp`` (gamma-encoded, H×W×3) blurred by ``k`` in the domain x^gamma; with ``highlight_p``,
    the brightest areas are first made brighter than white (light sources), so that their blur streaks
    and clips as in a photo; the sharp target keeps them clipped at 1."""
    lin = np.power(np.clip(sharp, 0, 1), gamma, dtype=np.float32)
    if rng.random() < highlight_p:
        lum = lin.mean(-1, keepdims=True)
        thr = float(np.quantile(lum, rng.uniform(0.97, 0.995)))
        gain = np.float32(rng.uniform(1.5, 4.0))
        lin = np.where(lum >= thr, lin * gain, lin).astype(np.float32)
    return np.power(np.clip(convolve(lin, k), 0, 1), 1 / gamma, dtype=np.float32)


def wide_sensor(img: np.ndarray, rng: np.random.Generator, max_sigma: float = 0.03, jpeg_p: float = 0.3) -> np.ndarray:
    """Noise of σ up to ``max_sigma`` (log-uniform from 0.002), Gaussian in the sRGB values or
    signal-dependent in linear light, then 8-bit quantisation and JPEG with ``jpeg_p``."""
    sigma = float(np.exp(rng.uniform(np.log(0.002), np.log(max_sigma))))
    if rng.random() < 0.5:
        out = img + sigma * rng.standard_normal(img.shape, dtype=np.float32)
    else:
        lin = to_linear(img)
        std = np.sqrt(sigma**2 * (0.3 + np.clip(lin, 0, 1))).astype(np.float32) / 2
        out = to_gamma(lin + std * rng.standard_normal(lin.shape, dtype=np.float32))
    out = np.round(np.clip(out, 0, 1) * 255) / 255
    return maybe_jpeg(out.astype(np.float32), rng, jpeg_p)
