"""Blur kernels. Every kernel is float32, non-negative, sums to 1, odd-sized and centred.

- ``motion_kernel``: camera-shake trajectories in the style of Boracchi & Foi (2012): a random walk
  whose velocity receives random accelerations (with a pull back towards the start, "anxiety") and
  rare impulsive jerks, sampled over an exposure fraction of the trajectory and splatted sub-pixel.
- ``disk_kernel``: anti-aliased defocus disk (pillbox) by 8×8 supersampling.
- ``gaussian_kernel``: (an)isotropic rotated Gaussian.
- ``lens_psf``: the distortion-prior paper's field model x' = R⁻¹TRx: a Gaussian whose axes are
  rotated to the polar angle of its image position and whose scale grows with the radius.
"""

from __future__ import annotations

import math

import numpy as np


def _normalise_centre(k: np.ndarray) -> np.ndarray:
    """Shift the kernel's centre of mass to the middle pixel (integer shift) and normalise."""
    k = np.clip(k, 0, None).astype(np.float32)
    s = k.sum()
    if s <= 0:
        raise ValueError("kernel has no mass")
    k /= s
    n = k.shape[0]
    ys, xs = np.mgrid[0:n, 0:n]
    cy, cx = float((k * ys).sum()), float((k * xs).sum())
    dy, dx = int(round(n // 2 - cy)), int(round(n // 2 - cx))
    if dy or dx:
        pad = max(abs(dy), abs(dx))
        big = np.zeros((n + 2 * pad, n + 2 * pad), np.float32)
        big[pad + dy : pad + dy + n, pad + dx : pad + dx + n] = k
        k = big
    return k / k.sum()


def motion_kernel(rng: np.random.Generator, size: int = 41, length: float | None = None) -> np.ndarray:
    """A random camera-shake kernel no larger than ``size``×``size`` (odd)."""
    size |= 1
    steps = 2000
    anxiety = rng.uniform(0.0, 0.005)
    impulsive_p = rng.uniform(0.0, 0.02)
    v = np.exp(1j * rng.uniform(0, 2 * np.pi))
    x = np.zeros(steps, np.complex128)
    for t in range(1, steps):
        jerk = 0.0
        if rng.random() < impulsive_p:
            jerk = 2 * v * np.exp(1j * rng.uniform(-np.pi, np.pi) / 2)
        dv = jerk + rng.normal(0, 1, 2).view(np.complex128)[0] * 0.04 - anxiety * x[t - 1]
        v = v + dv
        v /= max(abs(v), 1e-8)
        x[t] = x[t - 1] + v
    exposure = rng.uniform(0.5, 1.0)
    x = x[: int(steps * exposure)]
    target = length if length is not None else rng.uniform(3, size - 2)
    extent = max(np.ptp(x.real), np.ptp(x.imag), 1e-6)
    x = (x - x.mean()) * (target / extent)
    return _splat(x, size)


def _splat(path: np.ndarray, size: int) -> np.ndarray:
    k = np.zeros((size, size), np.float64)
    c = size // 2
    px, py = path.real + c, path.imag + c
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    fx, fy = px - x0, py - y0
    for dy, dx, w in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
        yy, xx = np.clip(y0 + dy, 0, size - 1), np.clip(x0 + dx, 0, size - 1)
        np.add.at(k, (yy, xx), w)
    return _normalise_centre(k)


def disk_kernel(radius: float) -> np.ndarray:
    """Anti-aliased pillbox of the given radius in pixels (radius ≤ 0.5 is nearly a delta)."""
    r = max(float(radius), 0.05)
    half = int(math.ceil(r)) + 1
    ss = 8
    coords = (np.arange((2 * half + 1) * ss) + 0.5) / ss - (half + 0.5)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    inside = (yy**2 + xx**2 <= r * r).astype(np.float64)
    k = inside.reshape(2 * half + 1, ss, 2 * half + 1, ss).mean(axis=(1, 3))
    if k.sum() == 0:
        k[half, half] = 1
    return _normalise_centre(k)


def gaussian_kernel(sigma_x: float, sigma_y: float | None = None, theta: float = 0.0) -> np.ndarray:
    sy = sigma_x if sigma_y is None else sigma_y
    half = int(math.ceil(3 * max(sigma_x, sy, 0.3)))
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy
    k = np.exp(-0.5 * ((u / max(sigma_x, 1e-3)) ** 2 + (v / max(sy, 1e-3)) ** 2))
    return _normalise_centre(k)


def second_moments(k: np.ndarray) -> np.ndarray:
    """(E[x²], E[y²], E[xy]) of a kernel about its centre pixel, in px² — linear in the kernel, so the
    moments of a blend of kernels are the same blend of their moments."""
    n = k.shape[0]
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64) - n // 2
    kk = k.astype(np.float64)
    return np.array([(kk * xx * xx).sum(), (kk * yy * yy).sum(), (kk * xx * yy).sum()], np.float32)


def lens_psf(u: float, v: float, base: float, growth: float, anisotropy: float, twist: float = 0.0) -> np.ndarray:
    """PSF at normalised position (u, v) ∈ [-1, 1]²: x' = R⁻¹TRx with R the polar-angle rotation.

    ``base``: Gaussian sigma (px) at the centre; it grows as base·(1 + growth·r²) with r the normalised
    radius; ``anisotropy`` stretches the radial axis relative to the tangential one towards the corners.
    """
    r = min(math.hypot(u, v) / math.sqrt(2), 1.0)
    theta = math.atan2(v, u) + twist
    scale = base * (1 + growth * r * r)
    sr = scale * (1 + anisotropy * r)
    st = scale
    return gaussian_kernel(sr, st, theta)


def line_kernel(length: float, angle: float, size: int | None = None) -> np.ndarray:
    """Straight linear motion of ``length`` px at ``angle`` (radians), splatted sub-pixel."""
    size = (size or int(math.ceil(length)) + 3) | 1
    t = np.linspace(-0.5, 0.5, max(int(length * 4), 8))
    return _splat(t * length * np.exp(1j * angle), size)


def arc_kernel(length: float, curvature: float, angle: float, size: int | None = None) -> np.ndarray:
    """Curved motion: an arc of ``length`` px turning by ``curvature`` radians in all, at ``angle``."""
    size = (size or int(math.ceil(length)) + 3) | 1
    n = max(int(length * 4), 8)
    turn = np.linspace(-0.5, 0.5, n) * curvature
    step = np.exp(1j * (angle + turn)) * (length / n)
    path = np.cumsum(step)
    return _splat(path - path.mean(), size)


FAMILIES = ("shake", "long", "line", "arc")


def wide_kernel(rng: np.random.Generator, max_size: int = 75, min_length: float = 5.0) -> np.ndarray:
    """A kernel of the wide training distribution (the generalisation issue): camera-shake random walks
    (``shake``), long wandering exposures (``long``), straight (``line``) and curved (``arc``) motion, at
    sizes drawn log-uniformly from 7 (a path of ``min_length`` px) to ``max_size`` px. Centred by centre of mass, like every kernel
    here: a blind net cannot know where an off-centre kernel's mass sits, so its target is the
    centre-of-mass frame (validation scores after the best shift for that reason)."""
    family = FAMILIES[int(rng.choice(4, p=[0.45, 0.15, 0.2, 0.2]))]
    length = float(np.exp(rng.uniform(np.log(min_length), np.log(max_size - 4))))
    if family == "shake":
        return motion_kernel(rng, min(int(length) + 6, max_size), length=length)
    if family == "long":
        k = motion_kernel(rng, max_size, length=max(length, 25.0))
        return k
    if family == "line":
        return line_kernel(length, rng.uniform(0, np.pi))
    return arc_kernel(length, rng.uniform(0.3, 2.5), rng.uniform(0, 2 * np.pi))


def canvas(k: np.ndarray, side: int) -> np.ndarray:
    """``k`` on a side×side canvas (side odd), its centre ((n - 1) // 2, the ``degrade.convolve``
    convention) at side // 2, normalised; ``k`` must fit."""
    kh, kw = k.shape
    if kh > side or kw > side:
        raise ValueError(f"a {kh}×{kw} kernel does not fit a {side}×{side} canvas")
    out = np.zeros((side, side), np.float32)
    oy, ox = side // 2 - (kh - 1) // 2, side // 2 - (kw - 1) // 2
    out[oy : oy + kh, ox : ox + kw] = k
    return out / out.sum()


def otf_canvas(k: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``k`` zero-padded to ``shape`` with its centre ((n - 1) // 2, the ``degrade.convolve``
    convention) rolled to (0, 0): its FFT is the kernel's transfer function at that size."""
    pad = np.zeros(shape, np.float32)
    kh, kw = k.shape
    pad[:kh, :kw] = k
    return np.roll(pad, (-((kh - 1) // 2), -((kw - 1) // 2)), (0, 1))


def support_radius(k: np.ndarray) -> int:
    """How far (px, Chebyshev) from the centre of an odd square kernel its non-zero values reach."""
    c = k.shape[0] // 2
    ys, xs = np.nonzero(k)
    return int(max(np.abs(ys - c).max(), np.abs(xs - c).max())) if len(ys) else 0


def crop_support(k: np.ndarray) -> np.ndarray:
    """The smallest odd square around the canvas centre holding every non-zero value."""
    c, r = k.shape[0] // 2, support_radius(k)
    return np.ascontiguousarray(k[c - r : c + r + 1, c - r : c + r + 1])


def best_shift(a: np.ndarray, b: np.ndarray, reach: int = 4) -> tuple[tuple[int, int], float]:
    """The integer shift d within ±``reach`` that maximises Σ a·roll(b, d), and that sum (the first
    such shift, rows then columns, where several tie)."""
    best, arg = -np.inf, (0, 0)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            v = float((a * np.roll(b, (dy, dx), (0, 1))).sum())
            if v > best:
                best, arg = v, (dy, dx)
    return arg, best


def delta(side: int) -> np.ndarray:
    out = np.zeros((side, side), np.float32)
    out[side // 2, side // 2] = 1
    return out
