"""`--method kernel`: estimate the photo's camera-shake kernel (or take the user's), then deconvolve it
with the non-blind net (``archs.hqs``) through the engine's tiles; when the estimate is not confident,
say so and fall back to the blind network."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..calibration.noise import value_sigma
from ..engine.kernel import KernelField
from ..errors import KernelMismatchError
from ..engine.unrolled import UnrolledRunner
from .estimate import EstimateConfig, KernelEstimate, estimate
from ..synth.kernels import crop_support
from .psf import to_canvas

Progress = Callable[[int, int], None]


@dataclass
class KernelResult:
    rgb: np.ndarray
    kernel: np.ndarray | None  # the kernel used or estimated (full resolution), None for none
    confidence: float | None  # of an estimate; None when the kernel was given
    used: str  # "kernel" | "blind"
    sigma: float = 0.0
    seconds_estimate: float = 0.0


@dataclass
class KernelDeconvolver:
    """The non-blind runner (its tone guard sized per kernel) and, for photos whose estimate fails, the
    blind one."""

    runner: UnrolledRunner
    blind: Callable[[np.ndarray, Progress | None], np.ndarray] | None = None
    est_cfg: EstimateConfig = EstimateConfig()
    noise: float | None = None  # the photo's noise σ (values in [0, 1]); None: measured per photo
    # The defocus map's median radius (px) of a photo, or None: a kernel that is not sure enough
    # (``route.RouteConfig.sure_shake``) is not used on a photo this map calls sharp.
    sharpness: Callable[[np.ndarray], float] | None = None
    _runners: dict[float, UnrolledRunner] = field(default_factory=dict)

    def _runner_for(self, side: int) -> UnrolledRunner:
        """The tone guard keeps the photo's own low frequencies; for a long kernel its σ grows to twice
        the kernel's side, so that the guard keeps only what the blur did not touch."""
        tone = max(self.runner.cfg.tone_sigma, 2.0 * side) if self.runner.cfg.tone_sigma > 0 else 0.0
        if tone not in self._runners:
            self._runners[tone] = self.runner if tone == self.runner.cfg.tone_sigma else self.runner.with_config(tone_sigma=tone)
        return self._runners[tone]

    def restore(self, rgb: np.ndarray, kernel: np.ndarray | None = None, progress: Progress | None = None,
                warnings: list[str] | None = None, estimated: KernelEstimate | None = None) -> KernelResult:
        """``kernel``: the user's (no estimate); ``estimated``: an estimate of this photo made before
        (``deconv.cached``), used as this would have estimated it."""
        conf = None
        t0 = time.perf_counter()
        given = kernel is not None
        if kernel is None:
            est = estimated if estimated is not None else estimate(rgb, self.est_cfg)
            conf, kernel = est.confidence, est.kernel
            if est.ok and self.blind is not None and self.sharpness is not None and _looks_sharp(est.confidence, rgb, self.sharpness):
                # (an already-sharp photo passed as a shake at 0.715: deconvolved, 39.9 → 23.6 dB)
                if warnings is not None:
                    warnings.append(f"the photo looks sharp and the kernel is not sure (confidence {est.confidence:.2f}): "
                                    "used the blind network instead")
                return KernelResult(self.blind(rgb, progress), kernel, conf, "blind", seconds_estimate=time.perf_counter() - t0)
            if not est.ok and self.blind is not None:
                if warnings is not None and est.failed:
                    warnings.append(f"{est.failed}: used the blind network instead")
                elif warnings is not None and not est.is_shake:
                    warnings.append("no camera shake found (the photo looks sharp or only slightly blurred): "
                                    "used the blind network instead")
                elif warnings is not None:
                    warnings.append(f"the blur does not look like one camera shake over the whole photo (kernel "
                                    f"confidence {est.confidence:.2f}): used the blind network instead")
                return KernelResult(self.blind(rgb, progress), None if est.failed else kernel, conf, "blind",
                                    seconds_estimate=time.perf_counter() - t0)
        t_est = time.perf_counter() - t0
        on_canvas = to_canvas(kernel, self.runner.net.cfg.canvas)
        k = crop_support(on_canvas)
        sigma = self.noise if self.noise is not None else value_sigma(rgb)
        try:
            out = self._runner_for(k.shape[0]).restore(rgb, KernelField.uniform(on_canvas, sigma), progress=progress)
        except KernelMismatchError:
            if given or self.blind is None:
                raise
            if warnings is not None:
                warnings.append("the estimated kernel does not explain the photo (deconvolved by it, the result "
                                "does not blur back to the photo): used the blind network instead")
            return KernelResult(self.blind(rgb, progress), k, conf, "blind", seconds_estimate=t_est)
        return KernelResult(out, k, conf, "kernel", sigma, t_est)


def _looks_sharp(confidence: float, rgb: np.ndarray, sharpness: Callable[[np.ndarray], float]) -> bool:
    """``route.unsure_on_sharp``, the map computed only for a kernel unsure enough for it to matter."""
    from ..route import RouteConfig, unsure_on_sharp

    return confidence < RouteConfig().sure_shake and unsure_on_sharp(confidence, sharpness(rgb))
