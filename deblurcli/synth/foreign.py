"""Validation on blur we did not make (the numbers that decide): never used for training.

- ``gopro``: real GoPro blur of another scene, GOPR0372 pairs, frames 100-129, every third (10 pairs
  of 1280×720);
- ``foreign-motion-srgb`` / ``foreign-motion-linear``: CBSD68 × the four USRNet motion kernels
  (``kernels/usrnet12_09…12_motion``), convolved in the sRGB values or in linear light;
- ``foreign-large``: CBSD68 × the two large KAIR kernels (67 and 70 px), in sRGB;
- ``foreign-all14`` (non-blind deconvolution only, not in training validation): CBSD68 × all 14
  kernels, the 8 Gaussian ones too, in sRGB.

Synthetic sets: the blur is computed on the whole photo and only the part at least half a kernel from
its edges is kept (no reflected borders), cropped to a multiple of 16; σ = 0.01 Gaussian noise on the
sRGB values, 8-bit quantisation. Every method is scored by ``metrics.aligned_scores`` (best integer
shift within ±10 px, with the mean-level shift).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import PAIRS_DIR, VAL_DIR, data_root, load_images, read_rgb
from .degrade import convolve, to_gamma, to_linear

FOREIGN = ("gopro", "foreign-motion-srgb", "foreign-motion-linear", "foreign-large")
GOPRO_VAL = range(100, 130, 3)
MOTION_KERNELS = tuple(f"usrnet12_{i:02d}_motion" for i in (9, 10, 11, 12))
LARGE_KERNELS = ("kair_large_1_motion", "kair_large_2_motion")
NOISE = 0.01


ALL_KERNELS = tuple(f"usrnet12_{i:02d}_gaussian" for i in range(1, 9)) + MOTION_KERNELS + LARGE_KERNELS


def is_foreign(kind: str) -> bool:
    return kind in FOREIGN


def kernel(root: Path, name: str) -> np.ndarray:
    k = np.load(root / "kernels" / f"{name}.npy").astype(np.float32)
    return k / k.sum()


def _valid(img: np.ndarray, margin: int) -> np.ndarray:
    h, w = img.shape[:2]
    img = img[margin : h - margin, margin : w - margin]
    h, w = img.shape[:2]
    y, x = (h % 16) // 2, (w % 16) // 2
    return np.ascontiguousarray(img[y : y + h - h % 16, x : x + w - w % 16])


def _blurred(sharp: np.ndarray, k: np.ndarray, linear: bool, rng: np.random.Generator) -> np.ndarray:
    b = to_gamma(convolve(to_linear(sharp), k)) if linear else convolve(sharp, k)
    b = b + NOISE * rng.standard_normal(b.shape, dtype=np.float32)
    return (np.round(np.clip(b, 0, 1) * 255) / 255).astype(np.float32)


def build(name: str, root: Path | None = None, count: int = 12, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """The items {"blur", "sharp"[, "kernel", "linear"]} of foreign set ``name`` (the synthetic ones with
    their true kernel and whether it was applied in linear light); ``count`` CBSD68 photos per kernel."""
    root = root or data_root()
    if name == "gopro":
        return [{"blur": read_rgb(root / PAIRS_DIR / "blur" / f"{i:06d}.jpg"),
                 "sharp": read_rgb(root / PAIRS_DIR / "sharp" / f"{i:06d}.jpg")} for i in GOPRO_VAL]
    if name not in FOREIGN and name != "foreign-all14":
        raise ValueError(f"unknown foreign set {name!r}: expected one of {', '.join(FOREIGN)}")
    names = LARGE_KERNELS if name == "foreign-large" else ALL_KERNELS if name == "foreign-all14" else MOTION_KERNELS
    linear = name == "foreign-motion-linear"
    photos = load_images(root, (VAL_DIR,))[:count]
    items = []
    for j, kn in enumerate(names):
        k = kernel(root, kn)
        m = k.shape[0] // 2 + 1
        for i, img in enumerate(photos):
            rng = np.random.default_rng([seed, (FOREIGN + ("foreign-all14",)).index(name), j, i])
            items.append({"blur": _valid(_blurred(img, k, linear, rng), m), "sharp": _valid(img, m),
                          "kernel": k, "linear": linear})
    return items
