"""Procedural test scenes (shapes, text, texture): the demo image and bench --quality's default set."""

from __future__ import annotations

import cv2
import numpy as np

from .data import dead_leaves


def scene(seed: int = 0, height: int = 384, width: int = 512) -> np.ndarray:
    """A float32 RGB scene in [0, 1] with edges, text and fine texture, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    img = dead_leaves(rng, max(height, width), n=250)[:height, :width].copy()
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = 0.75 * img + 0.25 * (0.5 + 0.5 * np.sin(xx / 3.0 + yy / 7.0))[..., None] * rng.random(3).astype(np.float32)
    for _ in range(6):
        c = tuple(float(v) for v in rng.random(3))
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p2 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.rectangle(img, p1, p2, c, int(rng.integers(1, 4)), cv2.LINE_AA)
    # A checkerboard patch and text: the details a photographer looks at.
    n = min(96, height - 32, width - 32)  # smaller scenes get a smaller patch (or none)
    if n > 0:
        cb = ((xx[:n, :n] // 6 + yy[:n, :n] // 6) % 2).astype(np.float32)
        img[height - 16 - n : height - 16, 16 : 16 + n] = cb[..., None]
    dark = np.zeros((height, width), np.uint8)
    light = np.zeros((height, width), np.uint8)
    for i, word in enumerate(("deblurcli", "0123456789", "Sharp Text")):
        cv2.putText(dark, word, (140, 60 + 44 * i), cv2.FONT_HERSHEY_SIMPLEX, 1.1, 255, 3, cv2.LINE_AA)
        cv2.putText(light, word, (140, 60 + 44 * i), cv2.FONT_HERSHEY_SIMPLEX, 1.1, 255, 1, cv2.LINE_AA)
    a, b = (dark.astype(np.float32) / 255)[..., None], (light.astype(np.float32) / 255)[..., None]
    img = img * (1 - a) + 0.05 * a
    img = img * (1 - b) + 0.95 * b
    return np.clip(img, 0, 1).astype(np.float32)
