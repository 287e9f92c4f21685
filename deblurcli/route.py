"""`--method auto`: diagnose a photo's blur from what the estimators already measure, then route it.

The diagnosis reads two estimates the routes need anyway: the camera-shake kernel (``deconv.estimate``:
its two regions' agreement and its width) and the defocus blur map (the learned estimator's radii).
Verdicts and routes:

    shake    one confident kernel for the photo, not disk-like → the kernel path (``deconv.pipeline``)
    slight   such a kernel, but narrow (a slight blur)            → the blind net
    sharp    no defocus in the map, and no kernel sure enough to outweigh it → the photo as it is
    defocus  a disk-like kernel, or none at all, and defocus in the map → SVBR-Net with the estimated map
    varying  blur whose regions disagree on the kernel      → the blind net
    other    no estimate possible (tiny, flat)              → the blind net

The shake estimator also reads a defocus blur as a confident kernel; how much that kernel looks like a
disk (``disk_similarity``) tells most defocus from most shakes. Measured in docs/experiments.md
("--method auto").

``diagnose`` is a pure function of those measurements (``Features``), so its rules are tested without
networks; the thresholds (``RouteConfig``) were chosen on training photos (docs/experiments.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

Verdict = Literal["sharp", "shake", "slight", "defocus", "varying", "other"]
Route = Literal["none", "kernel", "defocus", "blind"]
ROUTES: dict[str, Route] = {"sharp": "none", "shake": "kernel", "slight": "blind", "defocus": "defocus", "varying": "blind",
                            "other": "blind"}


@dataclass(frozen=True)
class Features:
    """What the estimators measured on one photo."""

    failed: str  # why no kernel could be estimated ('' when one was)
    confidence: float  # the two regions' kernels' agreement, [0, 1]
    is_shake: bool  # the kernel is wide and spread enough to be a blur at all
    ok: bool  # is_shake and confident
    radius: float  # the kernel's rms radius, px
    map_median: float  # the defocus map's median radius, px
    disk_similarity: float = 0.0  # the kernel's best normalised correlation with a disk (``disk_similarity``)


@dataclass(frozen=True)
class RouteConfig:
    # Below this median radius of the defocus map (read where the photo has detail) a photo without a
    # confident kernel is sharp. On BSDS500-test photos (the training mix) already-sharp photos gave
    # 0.50-0.503 px (the estimator's floor), blurred ones without a confident kernel 0.70 px and more
    # (docs/logs/kernel_eval_mix_train6.txt); it was 1.0, set on the whole map's median.
    sharp_map_px: float = 0.6
    # A kernel only this confident does not outweigh a map that says sharp: an already-sharp training
    # photo passed as a shake at 0.715 and the kernel path took it from 39.9 to 23.6 dB; the foreign
    # shakes on a sharp-looking map had 0.94 (docs/logs/kernel_eval_mix_train_items.jsonl).
    sure_shake: float = 0.8
    # A confident kernel this much like a disk, on a photo whose map shows defocus, is a defocus blur:
    # on BSDS500-test photos disks' estimates scored 0.83-0.95 (one 0.62), shakes' 0.60-0.94
    # (docs/logs/kernel_eval_mix_train4.txt).
    disk_like: float = 0.85
    # A confident kernel narrower than this (rms radius, px at full resolution) is a slight blur, and the
    # blind net takes it: on the 240 fps training frames (mild real blur, hands moving over a still
    # court) every such estimate (2.7-4.6 px) cost 1-4 dB against the blind net. Over 144 training photos
    # (those frames, whole and cropped, and BSDS500-test's mix) 4.5-7 px score within 0.015 dB of each
    # other; the low end keeps the kernel path for as many shakes as it can (docs/experiments.md, "The
    # kernel path on slight blur"; docs/logs/slight_shake_sweep.txt).
    min_shake_px: float = 4.5


@dataclass(frozen=True)
class Diagnosis:
    verdict: Verdict
    confidence: float  # how sure the verdict is, [0, 1]
    reason: str

    @property
    def route(self) -> Route:
        return ROUTES[self.verdict]

    def line(self) -> str:
        """What the progress output says: "shake, confidence 0.82 → kernel"."""
        return f"{self.verdict}, confidence {self.confidence:.2f} → {self.route}"

    def as_dict(self) -> dict[str, object]:
        return {"diagnosis": self.verdict, "confidence": round(self.confidence, 3), "route": self.route, "reason": self.reason}


def disk_similarity(kernel: np.ndarray, radii: np.ndarray = np.arange(0.5, 8.01, 0.5)) -> float:
    """How much ``kernel`` looks like a defocus disk: its best normalised correlation (over small shifts)
    with a disk of any of ``radii`` px. A disk's estimate scores high; a shake's path lower."""
    from .deconv.estimate import similarity
    from .synth.kernels import canvas, crop_support, disk_kernel

    k = crop_support(kernel)
    best = 0.0
    for r in radii:
        d = disk_kernel(float(r))
        side = max(k.shape[0], d.shape[0]) | 1
        best = max(best, similarity(canvas(k, side), canvas(d, side), max_shift=2))
    return best


# Detail the blur can be read from: where the gradient of a copy of the photo at most DETAIL_SIDE px on its
# long side (blur shrinks with it, noise averages out) exceeds DETAIL_GRADIENT per px (values in [0, 1]).
# The defocus map is read there only: over a flat sky the learned map guesses 2-3 px, and a sharp photo
# that was 70% sky would have been sent to SVBR-Net. With less than MIN_DETAIL of the photo in detail
# (a flat field) no blur can be read at all.
DETAIL_SIDE = 256
DETAIL_GRADIENT = 0.02
MIN_DETAIL = 0.01


def detail(rgb: np.ndarray) -> np.ndarray:
    """Where ``rgb`` (H×W×3, [0, 1]) has detail, as a bool mask on a copy of at most ``DETAIL_SIDE`` px."""
    import cv2

    g = np.ascontiguousarray(rgb.mean(-1) if rgb.ndim == 3 else rgb, dtype=np.float32)
    s = min(1.0, DETAIL_SIDE / max(g.shape))
    if s < 1:
        g = cv2.resize(g, (max(round(g.shape[1] * s), 1), max(round(g.shape[0] * s), 1)), interpolation=cv2.INTER_AREA)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / 8
    return np.hypot(gx, gy) > DETAIL_GRADIENT


def map_median(radius_map: np.ndarray, rgb: np.ndarray | None = None) -> tuple[float, bool]:
    """The defocus map's median radius (px) where the photo ``rgb`` has detail (``detail``; the whole
    map without ``rgb``), and whether the photo has enough detail to read blur from at all (else the
    whole map's median)."""
    import cv2

    if rgb is None:
        return float(np.median(radius_map)), True
    mask = detail(rgb)
    if mask.mean() < MIN_DETAIL:
        return float(np.median(radius_map)), False
    small = cv2.resize(np.asarray(radius_map, np.float32), (mask.shape[1], mask.shape[0]), interpolation=cv2.INTER_AREA)
    return float(np.median(small[mask])), True


def sharpness(map_net: object) -> Callable[[np.ndarray], float]:
    """`--method kernel`'s sharp check: a photo's defocus map (``map_net``, the learned estimator) read
    where it has detail (``map_median``), in px."""
    from .defocusing.estimate import estimate_radius_learned

    return lambda rgb: map_median(estimate_radius_learned(rgb, map_net), rgb)[0]  # type: ignore[arg-type]


def features(estimate: object, radius_map: np.ndarray, rgb: np.ndarray | None = None) -> Features:
    """``Features`` of a ``deconv.estimate.KernelEstimate`` and a defocus map (px); with the photo
    ``rgb``, the map is read where the photo has detail (``map_median``), and a photo with almost none fails."""
    from .synth.kernels import second_moments

    k = estimate.kernel  # type: ignore[attr-defined]
    m = second_moments(k)
    median, enough = map_median(radius_map, rgb)
    failed = estimate.failed or ("" if enough else "the photo has too little detail to read its blur from")  # type: ignore[attr-defined]
    return Features(failed, float(estimate.confidence), bool(estimate.is_shake), bool(estimate.ok),  # type: ignore[attr-defined]
                    float(np.sqrt(m[0] + m[1])), median, disk_similarity(k))


def unsure_on_sharp(confidence: float, map_median: float, cfg: RouteConfig = RouteConfig()) -> bool:
    """A kernel not sure enough (``sure_shake``) to outweigh a defocus map that calls the photo sharp:
    no shake to deconvolve (`--method auto` and `--method kernel` alike)."""
    return confidence < cfg.sure_shake and map_median < cfg.sharp_map_px


def diagnose(f: Features, cfg: RouteConfig = RouteConfig()) -> Diagnosis:
    """The verdict on a photo from its ``Features`` (rules in the module's docstring)."""
    if f.failed:
        return Diagnosis("other", 0.0, f.failed)
    if f.ok and f.map_median >= cfg.sharp_map_px and f.disk_similarity >= cfg.disk_like:
        return Diagnosis("defocus", f.disk_similarity, f"a disk-like blur ({f.radius:.1f} px), defocus {f.map_median:.1f} px")
    if f.ok and not unsure_on_sharp(f.confidence, f.map_median, cfg):
        if f.radius < cfg.min_shake_px:
            return Diagnosis("slight", f.confidence, f"a slight shake ({f.radius:.1f} px): too little for the kernel path")
        return Diagnosis("shake", f.confidence, f"one shake of {f.radius:.1f} px over the photo")
    if f.map_median < cfg.sharp_map_px:
        return Diagnosis("sharp", 1.0 - f.map_median / (2 * cfg.sharp_map_px), "no blur found: no confident shake, no defocus")
    if not f.is_shake:
        return Diagnosis("defocus", min(1.0, f.map_median / (2 * cfg.sharp_map_px)), f"no shake, a defocus of {f.map_median:.1f} px")
    return Diagnosis("varying", 1.0 - f.confidence, f"the photo's regions disagree on the kernel (agreement {f.confidence:.2f})")


__all__ = ["Diagnosis", "Features", "ROUTES", "RouteConfig", "detail", "diagnose", "features", "map_median", "sharpness", "unsure_on_sharp"]
