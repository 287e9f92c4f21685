"""The tone guard: a restoration keeps the photo's own low frequencies.

Blur kernels sum to one, so deblurring should change detail, not the photo's brightness or colour over
large areas; yet nets trained on blur made in linear light learn to darken (its blurred sRGB values are
brighter than the sharp ones), and darkened sRGB-blurred and real GoPro photos by 1-4/255. The guard
replaces the output's Gaussian low-pass (σ px) with the input's: out + G_σ(input − out). A flat field
then comes back as itself, borders included (the low-pass reflects at the edges).
"""

from __future__ import annotations

import cv2
import numpy as np

DEFAULT_SIGMA = 32.0  # what users get (engine.setup.make_runner, `--tone-guard`): the best mean foreign gain of σ 0, 8, 16, 32 (docs/tone_guard_sweep.txt)


def keep_tone(out: np.ndarray, inp: np.ndarray, sigma: float) -> np.ndarray:
    """``out`` (H×W×C float32, modified in place and returned) with ``inp``'s low-pass below σ px."""
    if sigma <= 0:
        return out
    d = np.subtract(inp, out, dtype=np.float32)
    cv2.GaussianBlur(d, (0, 0), float(sigma), dst=d, borderType=cv2.BORDER_REFLECT)
    out += d.reshape(out.shape)
    return np.clip(out, 0, 1, out=out)
