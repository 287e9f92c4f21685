"""Blur-map files. Scale: a 16-bit PNG/TIFF stores the disk radius in thousandths of a pixel
(value 2500 = 2.5 px); a ``.npy`` file stores float radii in pixels. Maps are in the photo's upright
orientation (as displayed) and must have its size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..io.images import Photo, write_photo

SCALE = 1000.0  # 16-bit units per pixel of radius


def read_blur_map(path: Path, shape: tuple[int, int]) -> np.ndarray:
    from ..io.arrays import read_array

    raw = read_array(path, "--blur-map")
    if path.suffix.lower() == ".npy":
        a = np.squeeze(raw).astype(np.float32)
    else:
        if raw.dtype != np.uint16 or raw.ndim != 2:
            raise InputError(f"--blur-map {path}: expected a single-channel 16-bit PNG/TIFF (radius × {SCALE:g})",
                             "or pass a .npy array of radii in pixels")
        a = raw.astype(np.float32) / SCALE
    if a.ndim != 2:
        raise InputError(f"--blur-map {path}: expected a 2-D map, got shape {a.shape}")
    if a.shape != shape:
        raise InputError(f"--blur-map {path}: map is {a.shape[1]}×{a.shape[0]} but the photo is {shape[1]}×{shape[0]}",
                         "the map must match the photo's upright size")
    if not np.isfinite(a).all() or a.min() < 0:
        raise InputError(f"--blur-map {path}: radii must be finite and ≥ 0")
    return a


def write_blur_map(radius: np.ndarray, dest: Path, overwrite: bool = False) -> Path:
    """The map as a 16-bit grey PNG (radius × ``SCALE``), written whole; an existing file is kept
    unless ``overwrite``."""
    a = np.clip(radius * SCALE + 0.5, 0, 65535).astype(np.uint16)
    return write_photo(Photo(a[..., None].astype(np.float32) / 65535, bits=16), dest, overwrite=overwrite)


def map_writers(radius: np.ndarray) -> dict[str, Callable[[Path, bool], object]]:
    """The writers of `deblur defocus --save-map`'s side files (``batch.SIDE_FILES["blurmap"]``)."""
    return {"blur map": lambda p, o: write_blur_map(radius, p, o),
            "blur-map preview": lambda p, o: write_photo(Photo(preview(radius)), p, overwrite=o)}


def preview(radius: np.ndarray, vmax: float = 6.0) -> np.ndarray:
    """Colour-mapped radius map (viridis) with a legend bar labelled in pixels; float RGB."""
    h, w = radius.shape
    c = cv2.applyColorMap((np.clip(radius / vmax, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
    bar_w = max(60, w // 10)
    bar = np.full((h, bar_w, 3), 255, np.uint8)
    ramp = np.linspace(255, 0, max(h - 40, 2)).astype(np.uint8)[:, None].repeat(18, 1)
    bar[20 : 20 + len(ramp), 6:24] = cv2.applyColorMap(ramp, cv2.COLORMAP_VIRIDIS)
    for frac, label in ((0.0, f"{vmax:g} px"), (0.5, f"{vmax / 2:g}"), (1.0, "0")):
        y = int(20 + frac * (len(ramp) - 1))
        cv2.putText(bar, label, (27, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    rgb = cv2.cvtColor(np.concatenate([c, bar], 1), cv2.COLOR_BGR2RGB)
    return rgb.astype(np.float32) / 255


def to_trained_range(radius: np.ndarray, notes: list[str]) -> np.ndarray:
    """A blur map clamped to the radii SVBR-Net was trained on (``synth.degrade.disk_levels``: 0.5-6 px),
    with a note saying how much of the photo lay outside (a 20 px map wrecked the photo, exit 0).
    A map with values that are not finite or below 0 is refused."""
    from ..synth.degrade import disk_levels

    if not np.isfinite(radius).all() or float(radius.min()) < 0:
        raise InputError("the blur map has negative or non-finite radii", "radii are disk radii in px, 0 or more")
    lo, hi = float(disk_levels()[0]), float(disk_levels()[-1])
    above = float((radius > hi * 1.05).mean())
    if above > 0:
        notes.append(f"blur map: {100 * above:.0f}% of the photo has radii above {hi:g} px (up to {float(radius.max()):.1f}), "
                     f"beyond what the network was trained on: clamped to {hi:g} px, so those parts stay partly blurred")
    return np.clip(radius, lo, hi).astype(np.float32)
