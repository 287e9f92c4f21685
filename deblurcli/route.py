"""`--method auto`: diagnose a photo's blur from what the estimators already measure, then route it.

The diagnosis reads two estimates the routes need anyway: the camera-shake kernel (``deconv.estimate``:
its two regions' agreement and its width) and the defocus blur map (the learned estimator's radii).
Verdicts and routes:

    shake    one confident kernel for the photo          → the kernel path (``deconv.pipeline``)
    sharp    no defocus in the map, and no kernel sure enough to outweigh it → the photo as it is
    defocus  no kernel at all, but defocus in the map       → SVBR-Net with the estimated map
    varying  blur whose regions disagree on the kernel      → the blind net
    other    no estimate possible (tiny, flat)              → the blind net

The shake estimator also reads a defocus blur as a confident (disk-like) kernel, and the kernel's shape
did not tell the two apart on training photos (round shakes, elongated disk estimates), so such photos
take the kernel path: measured in docs/experiments.md ("--method auto").

``diagnose`` is a pure function of those measurements (``Features``), so its rules are tested without
networks; the thresholds (``RouteConfig``) were chosen on training photos (docs/experiments.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Verdict = Literal["sharp", "shake", "defocus", "varying", "other"]
Route = Literal["none", "kernel", "defocus", "blind"]
ROUTES: dict[str, Route] = {"sharp": "none", "shake": "kernel", "defocus": "defocus", "varying": "blind", "other": "blind"}


@dataclass(frozen=True)
class Features:
    """What the estimators measured on one photo."""

    failed: str  # why no kernel could be estimated ('' when one was)
    confidence: float  # the two regions' kernels' agreement, [0, 1]
    is_shake: bool  # the kernel is wide and spread enough to be a blur at all
    ok: bool  # is_shake and confident
    radius: float  # the kernel's rms radius, px
    map_median: float  # the defocus map's median radius, px


@dataclass(frozen=True)
class RouteConfig:
    # Below this median radius of the defocus map a photo without a confident kernel is sharp: already-
    # sharp photos give 0.50 px, blurred ones 0.9-4.6 px (docs/logs/kernel_eval_mix*_items.jsonl).
    sharp_map_px: float = 1.0
    # A kernel only this confident does not outweigh a map that says sharp: an already-sharp training
    # photo passed as a shake at 0.715 and the kernel path took it from 39.9 to 23.6 dB; the foreign
    # shakes on a sharp-looking map had 0.94 (docs/logs/kernel_eval_mix_train_items.jsonl).
    sure_shake: float = 0.8


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


def features(estimate: object, radius_map: np.ndarray) -> Features:
    """``Features`` of a ``deconv.estimate.KernelEstimate`` and a defocus map (px)."""
    from .synth.kernels import second_moments

    k = estimate.kernel  # type: ignore[attr-defined]
    m = second_moments(k)
    return Features(estimate.failed, float(estimate.confidence), bool(estimate.is_shake), bool(estimate.ok),  # type: ignore[attr-defined]
                    float(np.sqrt(m[0] + m[1])), float(np.median(radius_map)))


def diagnose(f: Features, cfg: RouteConfig = RouteConfig()) -> Diagnosis:
    """The verdict on a photo from its ``Features`` (rules in the module's docstring)."""
    if f.failed:
        return Diagnosis("other", 0.0, f.failed)
    if f.ok and (f.map_median >= cfg.sharp_map_px or f.confidence >= cfg.sure_shake):
        return Diagnosis("shake", f.confidence, f"one shake of {f.radius:.1f} px over the photo")
    if f.map_median < cfg.sharp_map_px:
        return Diagnosis("sharp", 1.0 - f.map_median / (2 * cfg.sharp_map_px), "no blur found: no confident shake, no defocus")
    if not f.is_shake:
        return Diagnosis("defocus", min(1.0, f.map_median / (2 * cfg.sharp_map_px)), f"no shake, a defocus of {f.map_median:.1f} px")
    return Diagnosis("varying", 1.0 - f.confidence, f"the photo's regions disagree on the kernel (agreement {f.confidence:.2f})")


__all__ = ["Diagnosis", "Features", "ROUTES", "RouteConfig", "diagnose", "features"]
