"""Fixed-seed validation sets on ``val/cbsd68`` (never trained on), one per degradation kind.

Generated once and cached as .npz under ``cache_dir()/val``; the cache key includes a version, the
kind, the count, the crop size and the seed, so changing any of them makes a new set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import VAL_DIR, Frames, cache_dir, data_root, load_images
from .degrade import LensField, degrade, sensor

# Version of each kind's validation set; bump one when its construction changes (scores stop comparing).
# frames v2: the clip's held-out end (v1 drew crops from training frames). Others v2: no exposure change
# between input and target (v1 scaled the input alone by ±10%).
VERSIONS = {"frames": 2, "motion": 2, "lens": 2, "defocus": 2, "sharp": 2}


def version_of(kind: str) -> int:
    """Foreign sets (``synth.foreign``) are version 1 until their construction changes."""
    return VERSIONS.get(kind, 1)
KINDS = ("motion", "lens", "defocus", "sharp", "frames")


def _centre(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return img[y : y + size, x : x + size]


def build(kind: str, root: Path, n: int, size: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    if kind == "frames":
        fr = Frames(root, split="val")
        pairs = [fr.sample(rng, size, n=int(rng.choice([7, 11, 15]))) for _ in range(n)]
        return {"blur": np.stack([p[0] for p in pairs]), "sharp": np.stack([p[1] for p in pairs])}
    imgs = load_images(root, (VAL_DIR,))
    out: dict[str, list[np.ndarray]] = {"blur": [], "sharp": [], "radius": [], "cal_blur": [], "cal_sharp": [], "kernel": []}
    for i in range(n):
        sharp = _centre(imgs[i % len(imgs)], size)
        field = LensField.random(rng) if kind == "lens" else None
        s = int(rng.integers(2**31))
        d = degrade(sharp, np.random.default_rng(s), kind, field)  # type: ignore[arg-type]
        out["blur"].append(sensor(d.blurred, rng, noise=0.01, jpeg_p=0.0))
        out["sharp"].append(sharp)
        if d.radius_map is not None:
            out["radius"].append(d.radius_map)
        if d.kernel is not None:
            k = np.zeros((45, 45), np.float32)
            o = (45 - d.kernel.shape[0]) // 2
            k[o : o + d.kernel.shape[0], o : o + d.kernel.shape[1]] = d.kernel
            out["kernel"].append(k)
        if field is not None:  # the module's calibration pair: another photo, same field
            cal = _centre(imgs[(i + n) % len(imgs)], size)
            cd = degrade(cal, np.random.default_rng(s), kind, field)  # type: ignore[arg-type]
            out["cal_blur"].append(sensor(cd.blurred, rng, noise=0.01, jpeg_p=0.0))
            out["cal_sharp"].append(cal)
    return {k: np.stack(v) for k, v in out.items() if v}


def load(kind: str, root: Path | None = None, n: int = 24, size: int = 256, seed: int = 1234) -> dict[str, np.ndarray]:
    path = cache_dir() / "val" / f"v{version_of(kind)}_{kind}_{n}_{size}_{seed}.npz"
    if path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    data = build(kind, root or data_root(), n, size, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **data)
    tmp.replace(path)
    return data
