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

DEFAULT_SIGMA = 32.0  # what users get (engine.setup.make_runner, `--tone-guard`): the best mean foreign gain of σ 0, 8, 16, 32 (docs/logs/tone_guard_sweep.txt)


def keep_tone(out: np.ndarray, inp: np.ndarray, sigma: float) -> np.ndarray:
    """``out`` (H×W×C float32, modified in place and returned) with ``inp``'s low-pass below σ px.

    The low-pass is taken on the difference shrunk by f = σ/4 (area average), blurred by σ/f = 4 px and
    enlarged bilinearly: the same smooth field as a full-size Gaussian to within a few 1/10000 (the
    area average and the interpolation add under 1% to its variance), at a tenth of the cost (12 MP:
    0.2 s instead of 1.9 s)."""
    if sigma <= 0:
        return out
    h, w = out.shape[:2]
    d = np.subtract(inp, out, dtype=np.float32).reshape(h, w, -1)
    f = max(1, min(int(sigma // 4), h // 8, w // 8))
    if f > 1:
        small = cv2.resize(d, (max(w // f, 1), max(h // f, 1)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), float(sigma) / f, borderType=cv2.BORDER_REFLECT)
        d = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    else:
        cv2.GaussianBlur(d, (0, 0), float(sigma), dst=d, borderType=cv2.BORDER_REFLECT)
    out += d.reshape(out.shape)
    return np.clip(out, 0, 1, out=out)
