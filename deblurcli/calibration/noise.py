"""The camera's noise, measured on the blurred calibration shot, for the adaptation's synthetic pairs.

A blurred shot has almost no fine detail of its own, so what a 3×3 Laplacian-difference mask (Immerkær
1996; the mask's response to white noise has 6× its RMS) picks up there is noise; the median of the
absolute responses ignores the few edges left. Measured per channel in linear light, scaled by the
exposure match, and turned into the ``noise`` setting of ``synth.degrade.sensor`` whose Poisson-Gaussian
draws have this RMS on average over the shot's brightness. On the simulated modules (dpa-lite, chart
pairs), adapting with the measured setting gave 24.82 dB, the same as with the modules' true setting
(0.01) and above the old fixed 0.02 (24.74; ``docs/logs/adapt_sweep.txt``).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..synth.degrade import to_linear

_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def noise_rms(img: np.ndarray, gain: np.ndarray | None = None) -> tuple[float, float]:
    """(RMS noise, mean level) of an H×W×3 gamma image in linear light, per-channel ``gain`` applied."""
    lin = to_linear(img)
    g = np.ones(3, np.float32) if gain is None else np.asarray(gain, np.float32).reshape(3)
    sig = []
    for c in range(3):
        r = cv2.filter2D(lin[..., c], -1, _MASK, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1]
        sig.append(float(np.median(np.abs(r))) / 0.6745 / 6 * float(g[c]))
    return float(np.mean(sig)), float((lin.reshape(-1, 3) * g).mean())


def sensor_setting(rms: float, mean: float) -> float:
    """The ``sensor(noise=N)`` whose expected noise power on an image of mean linear level ``mean``
    equals ``rms``²: with √a ~ U(0, N) and b ~ U(0, N/2), E[a·x + b²] = N²·(x̄/3 + 1/12)."""
    return rms / float(np.sqrt(max(mean, 0.0) / 3 + 1 / 12))


def value_sigma(img: np.ndarray) -> float:
    """σ of white noise on the values of an H×W[×C] image as given (no tone conversion): the median
    absolute response of Immerkær's mask over the grey image, which a blurred photo's few remaining
    edges hardly move. The noise level the non-blind deconvolution (``archs.hqs``) is told."""
    g = np.asarray(img, np.float32)
    g = g.mean(-1) if g.ndim == 3 else g
    if min(g.shape) < 3:
        return 0.0
    r = cv2.filter2D(np.ascontiguousarray(g), -1, _MASK, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1]
    # grey = mean of 3 channels of independent noise: σ_grey = σ/√3
    return float(np.median(np.abs(r))) / 0.6745 / 6 * float(np.sqrt(3.0 if np.ndim(img) == 3 else 1.0))
