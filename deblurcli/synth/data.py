"""Training and validation data: crops of the shared photos, dead-leaves images, 240 fps frame averages.

Sources are read from the data root (``--data`` / ``$DEBLUR_DATA``, default ``../shared/data``); nothing
is copied into the repository. Validation sets are generated once with a fixed seed and cached under
``$DEBLUR_CACHE`` (default ``~/.cache/deblurcli``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from . import kernels
from .degrade import LensField, constant_moments, degrade, sensor, to_gamma, to_linear, tone_exponent, wide_blur, wide_sensor

TRAIN_DIRS = ("train/bsds200", "train/urban100", "train/sunhays80", "train/div2k6")
VAL_DIR = "val/cbsd68"
FRAMES_DIR = "frames/gopro_GOPR0477_11_00"
PAIRS_DIR = "frames/gopro_GOPR0372_07_00_pairs"  # real GoPro pairs of another scene
PAIRS_TRAIN = range(47, 90)  # frames that may be trained on; 100-129 are the held-out `gopro` set


def data_root(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get("DEBLUR_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data")


def cache_dir() -> Path:
    return Path(os.environ.get("DEBLUR_CACHE") or Path.home() / ".cache" / "deblurcli")


def read_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f"cannot read {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32) / 255


def load_images(root: Path, dirs: tuple[str, ...]) -> list[np.ndarray]:
    files = sorted(p for d in dirs for p in (root / d).glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise FileNotFoundError(f"no training images under {root} ({', '.join(dirs)})")
    return [read_rgb(p) for p in files]


def dead_leaves(rng: np.random.Generator, size: int, n: int = 400) -> np.ndarray:
    """Procedural dead-leaves image: occluding discs with power-law radii and random colours."""
    img = np.zeros((size, size, 3), np.float32)
    img[:] = rng.random(3)
    rmin, rmax = 2.0, size / 3
    for _ in range(n):
        u = rng.random()
        r = (rmin ** -2 + u * (rmax ** -2 - rmin ** -2)) ** -0.5  # p(r) ∝ r^-3
        c = tuple(float(v) for v in rng.random(3))
        cx, cy = rng.uniform(-r, size + r, 2)
        cv2.circle(img, (int(cx), int(cy)), max(int(r), 1), c, -1, lineType=cv2.LINE_AA)
    return img


def augment(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotation, flip and an exposure change (±10% in linear light) of a sharp source: the blurred
    input is made from the result, so both sides of a pair share the exposure."""
    k = int(rng.integers(4))
    img = np.rot90(img, k)
    if rng.random() < 0.5:
        img = img[:, ::-1]
    return to_gamma(to_linear(img) * np.float32(rng.uniform(0.9, 1.1)))


def random_crop(img: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    if h < size or w < size:
        s = size / min(h, w)
        img = cv2.resize(img, (int(np.ceil(w * s)), int(np.ceil(h * s))), interpolation=cv2.INTER_AREA)
        h, w = img.shape[:2]
    y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    return img[y : y + size, x : x + size]


VAL_FRAMES = 30  # the clip's last frames are held out for validation ...
GAP_FRAMES = 15  # ... with a gap of one longest averaging window (adjacent 240 fps frames look alike)


class Frames:
    """Real motion blur: the linear-light mean of N consecutive 240 fps frames; target = middle frame.

    The clip is split in time: ``split="train"`` uses its first frames, ``"val"`` its last
    ``VAL_FRAMES``, with ``GAP_FRAMES`` unused between them, so validation never sees a training frame."""

    def __init__(self, root: Path, scale: float = 0.5, split: str = "train",
                 windows: tuple[int, ...] = (7, 9, 11, 13, 15)) -> None:
        self.windows = windows
        files = sorted((root / FRAMES_DIR).glob("*.jpg"))
        if split == "train":
            files = files[: len(files) - VAL_FRAMES - GAP_FRAMES]
        elif split == "val":
            files = files[len(files) - VAL_FRAMES :]
        else:
            raise ValueError(f"split {split!r}: expected train or val")
        self.frames = [cv2.resize(read_rgb(p), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for p in files]

    def sample(self, rng: np.random.Generator, size: int | None, n: int | None = None, start: int | None = None,
               yx: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A (blurred, sharp) pair: a size×size crop (at ``yx``, else drawn), or the whole frames (None)."""
        n = n or int(rng.choice(self.windows))
        start = int(rng.integers(0, len(self.frames) - n + 1)) if start is None else start
        h, w = self.frames[0].shape[:2]
        if size is None:
            (y, x), (sh, sw) = (0, 0), (h, w)
        else:
            (y, x), (sh, sw) = yx or (int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))), (size, size)
        stack = [to_linear(f[y : y + sh, x : x + sw]) for f in self.frames[start : start + n]]
        return to_gamma(np.mean(stack, axis=0)), self.frames[start + n // 2][y : y + sh, x : x + sw].copy()


STRONG_WINDOWS = (15, 21, 25, 31, 37, 45)  # at full resolution: inputs of 23-34 dB, 27 on average (GoPro: 24-27)


class RealPairs:
    """Real motion-blurred / sharp pairs (``PAIRS_DIR``), only the frames in ``PAIRS_TRAIN``; kept as
    uint8 (43 pairs of 1280×720)."""

    def __init__(self, root: Path, frames: range = PAIRS_TRAIN) -> None:
        names = [f"{i:06d}.jpg" for i in frames]
        load = lambda p: cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)  # noqa: E731
        self.pairs = [(load(root / PAIRS_DIR / "blur" / n), load(root / PAIRS_DIR / "sharp" / n))
                      for n in names if (root / PAIRS_DIR / "blur" / n).exists()]
        if not self.pairs:
            raise FileNotFoundError(f"no GoPro pairs under {root / PAIRS_DIR}")

    def sample(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        blur, sharp = self.pairs[int(rng.integers(len(self.pairs)))]
        h, w = blur.shape[:2]
        y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
        k, flip = int(rng.integers(4)), rng.random() < 0.5
        out = []
        for im in (blur, sharp):
            c = np.rot90(im[y : y + size, x : x + size], k)
            out.append(np.ascontiguousarray(c[:, ::-1] if flip else c).astype(np.float32) / 255)
        return out[0], out[1]


@dataclass(frozen=True)
class Mix:
    """Share of each degradation in a training batch (normalised when sampled)."""

    motion: float = 0.3
    nonuniform: float = 0.1
    lens: float = 0.25
    lenspsf: float = 0.0  # one lens PSF per crop (a known kernel: for the non-blind net)
    defocus: float = 0.1
    gaussian: float = 0.05
    sharp: float = 0.1
    frames: float = 0.1
    wide: float = 0.0  # the wide distribution: kernel families to 75 px, sRGB/linear/tone-curve blur
    pairs: float = 0.0  # real GoPro pairs, GOPR0372 frames 47-89
    strong_frames: float = 0.0  # the 240 fps clip at full resolution, windows of GoPro strength
    wide_est: float = 0.0  # as wide, by a kernel of the estimate bank; the net is given its blind estimate
    wide_large: float = 0.0  # as wide, paths of LARGE_MIN_LENGTH px and more (6% of wide's are that long)

    def pick(self, rng: np.random.Generator) -> str:
        names = ("motion", "nonuniform", "lens", "lenspsf", "defocus", "gaussian", "sharp", "frames", "wide", "pairs",
                 "strong_frames", "wide_est", "wide_large")
        p = np.array([getattr(self, k) for k in names], np.float64)
        return str(rng.choice(names, p=p / p.sum()))


LARGE_MIN_LENGTH = 30.0  # px: Mix.wide_large's shortest path (the foreign large kernels are 67-70 px)
MARGIN = 24  # blur a larger crop, keep the centre: no border effects in the target


class KernelBank:
    """(true kernel, our estimator's estimate of it) pairs made on training photos
    (``scripts/kernel_error_bank.py``), only those `deblur --method kernel` would use (confident and a
    shake). Each estimate is moved by the integer shift that best matches it to its true kernel: a blind
    estimate's position is arbitrary (results are scored after the best shift), and a shifted output
    would teach the net to blur."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise FileNotFoundError(f"no kernel bank at {path}: make one with scripts/kernel_error_bank.py")
        with np.load(path) as z:
            ok = z["ok"]
            true, est = z["true"][ok], z["est"][ok]
        if not len(true):
            raise ValueError(f"the kernel bank {path} has no usable estimate")
        self.pairs = [(kernels.crop_support(t), np.ascontiguousarray(np.roll(e, kernels.best_shift(t, e)[0], (0, 1))))
                      for t, e in zip(true, est)]

    def __len__(self) -> int:
        return len(self.pairs)

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One pair, both turned by the same multiple of 90° and maybe mirrored (8 variants of each)."""
        t, e = self.pairs[int(rng.integers(len(self.pairs)))]
        r, flip = int(rng.integers(4)), bool(rng.random() < 0.5)
        t, e = np.rot90(t, r), np.rot90(e, r)
        if flip:
            t, e = t[:, ::-1], e[:, ::-1]
        return np.ascontiguousarray(t), np.ascontiguousarray(e)


class PairSampler:
    """Draws (blurred, sharp[, radius map][, PSF moments]) training pairs (real frame blur has no
    known PSF, so no moments); ``calibration`` adds a second pair that
    shares the blur field (the camera module's calibration pair in the distortion-prior set-up)."""

    def __init__(self, images: list[np.ndarray], frames: Frames | None, mix: Mix, dead_leaves_p: float = 0.15,
                 pairs: RealPairs | None = None, strong: Frames | None = None, bank: KernelBank | None = None) -> None:
        self.images, self.frames, self.mix, self.dead_leaves_p = images, frames, mix, dead_leaves_p
        self.pairs, self.strong, self.bank = pairs, strong, bank

    def _source(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if rng.random() < self.dead_leaves_p:
            return dead_leaves(rng, size)
        return augment(random_crop(self.images[int(rng.integers(len(self.images)))], rng, size), rng)

    def _wide(self, rng: np.random.Generator, size: int, calibration: bool,
              pair: tuple[np.ndarray, np.ndarray] | None = None, min_length: float = 5.0) -> dict[str, np.ndarray]:
        """One kernel of the wide distribution (paths of ``min_length`` px or more; or ``pair``'s true
        kernel, the net then given its estimate), one tone domain, for the photo and its calibration pair."""
        k = kernels.wide_kernel(rng, min_length=min_length) if pair is None else pair[0]
        gamma = tone_exponent(rng)
        m = k.shape[0] // 2 + 2
        out: dict[str, np.ndarray] = {}
        for pre in ("", "cal_") if calibration else ("",):
            src = self._source(rng, size + 2 * m)
            c = slice(m, m + size)
            out[pre + "blur"] = wide_sensor(wide_blur(src, k, rng, gamma)[c, c], rng)
            out[pre + "sharp"] = np.ascontiguousarray(src[c, c])
        out["moments"] = constant_moments(size, size, k)
        out["kernel"] = k if pair is None else pair[1]
        return out

    def sample(self, rng: np.random.Generator, size: int, calibration: bool = False) -> dict[str, np.ndarray]:
        kind = self.mix.pick(rng)
        if (kind == "frames" and self.frames is None) or (kind == "strong_frames" and self.strong is None):
            kind = "motion"
        if kind == "pairs" and self.pairs is None:
            kind = "wide"
        if kind == "wide_est":
            if self.bank is None:
                raise ValueError("the mix has wide_est but no kernel bank was given (kernel_bank in the config)")
            return self._wide(rng, size, calibration, self.bank.sample(rng))
        if kind == "wide":
            return self._wide(rng, size, calibration)
        if kind == "wide_large":
            return self._wide(rng, size, calibration, min_length=LARGE_MIN_LENGTH)
        if kind == "pairs":  # real blur, already noisy and JPEG'd by the camera: no sensor step
            assert self.pairs is not None
            blur, sharp = self.pairs.sample(rng, size)
            out = {"blur": blur, "sharp": sharp}
            if calibration:
                out["cal_blur"], out["cal_sharp"] = self.pairs.sample(rng, size)
            return out
        if kind in ("frames", "strong_frames"):
            fr = self.frames if kind == "frames" else self.strong
            assert fr is not None
            blur, sharp = fr.sample(rng, size)
            out = {"blur": sensor(blur, rng), "sharp": sharp}
            if calibration:  # one scene: the calibration pair is another crop of the same frames
                cb, cs = fr.sample(rng, size)
                out |= {"cal_blur": sensor(cb, rng), "cal_sharp": cs}
            return out
        big = size + 2 * MARGIN
        seed = int(rng.integers(2**31))
        field = LensField.random(rng) if kind in ("lens", "lenspsf") else None
        srcs = [self._source(rng, big) for _ in range(2 if calibration else 1)]
        out = {}
        for j, src in enumerate(srcs):
            # Same seed => same kernel / field / map for the photo and its calibration pair.
            d = degrade(src, np.random.default_rng(seed), kind, field)  # type: ignore[arg-type]
            c = slice(MARGIN, MARGIN + size)
            pre = "" if j == 0 else "cal_"
            out[pre + "blur"] = sensor(d.blurred[c, c], rng)
            out[pre + "sharp"] = src[c, c].copy()
            if d.radius_map is not None and j == 0:
                out["radius"] = d.radius_map[c, c]
            if d.moments is not None and j == 0:
                out["moments"] = d.moments[c, c]
            if j == 0 and (d.kernel is not None or kind == "sharp"):
                out["kernel"] = d.kernel if d.kernel is not None else kernels.delta(1)
        return out
