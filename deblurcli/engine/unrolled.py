"""Running an unrolled non-blind net (``archs.hqs``) on a whole photo: the FFT data step spans the
whole (mirrored) photo, on the device in float32; the learned prior between the steps runs tile by tile
through an ordinary ``Runner`` (precision, batching, OOM back-off), with a context that covers its
receptive field. The data step's reach is unbounded, the prior's is not: tiled equals untiled.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..archs.hqs import DataTerm, HQSDeconv
from ..errors import KernelMismatchError, UsageError
from ..synth.kernels import support_radius
from .kernel import KernelField
from .runner import Runner, RunConfig
from .tone import keep_tone

# The prior U-Net's receptive field reaches 34 px to each side (its input gradient, measured on the
# shipped hqs); tiles get a margin beyond it.
PRIOR_CONTEXT = 48


# The whole result, blurred by the kernel, must give back the photo. Measured as rms(k∗z − y) over the
# photo's rms spread: a fitting kernel gives 0.10-0.13, a kernel that fits poorly 0.5-0.7 (a shake on an
# already-sharp photo, a 21 px box on a noisy one); a flat grey result gives 1.0 by construction, and
# broken priors 1.2-3.3 (tests/test_kernel.py).
MAX_REBLUR_RESIDUAL = 0.9
MIN_SPREAD = 0.05


class PriorStage(nn.Module):
    """One stage's prior as a net of one image input and its noise level (a per-tile condition).

    Its input, a data step's result, leaves [0, 1] where the kernel fits the photo poorly, and its output
    (the input plus a correction) follows; the stage's output is clamped, and the runner checks it only
    for finite values. ``UnrolledRunner.restore`` checks the result instead: blurred by the kernel, it
    must give back the photo."""

    range_checked_after = True

    def __init__(self, net: HQSDeconv) -> None:
        super().__init__()
        self.prior = net.prior
        self.multiple = net.multiple
        self.context_px = PRIOR_CONTEXT

    def forward(self, x: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        return self.prior(x, level.view(-1))


@dataclass(frozen=True)
class Level:
    value: float

    def for_tile(self, y0: int, y1: int, x0: int, x1: int, height: int, width: int, scale: int = 1) -> dict[str, Any]:
        return {"level": torch.tensor([[self.value]], dtype=torch.float32)}


def reblur_residual(data: DataTerm, z: torch.Tensor, p: int, h: int, w: int) -> float:
    """rms(k∗z − y) over the photo (not its mirrored margin), relative to the photo's own rms spread, or
    to ``MIN_SPREAD`` for a nearly flat photo (or a flat cell of a PSF field), whose spread is its noise."""
    d = (data.reblur(z) - data.y)[..., p : p + h, p : p + w]
    y = data.y[..., p : p + h, p : p + w]
    return float(d.pow(2).mean().sqrt() / (y - y.mean()).pow(2).mean().sqrt().clamp(min=MIN_SPREAD))


def check_reblur(data: DataTerm, z: torch.Tensor, p: int, h: int, w: int) -> None:
    r = reblur_residual(data, z, p, h, w)
    if not math.isfinite(r) or r > MAX_REBLUR_RESIDUAL:
        raise KernelMismatchError(f"the non-blind network's result does not match the photo: blurred by the kernel it "
                               f"differs from the photo by {100 * r:.0f}% of the photo's contrast")


class UnrolledRunner:
    """``Runner``'s interface (``restore``, ``with_config``, ``device``, ``dtype``, ``cfg``, ``context``)
    for an ``HQSDeconv``: ``restore(rgb, KernelField)``, one kernel for the whole photo."""

    def __init__(self, model: HQSDeconv, cfg: RunConfig = RunConfig()) -> None:
        self.net = model.eval()
        self.cfg = cfg
        self.prior = Runner(PriorStage(self.net), replace(cfg, tone_sigma=0.0, edge_pad=0))
        self.device, self.dtype, self.context = self.prior.device, self.prior.dtype, self.prior.context
        self.context_default = self.prior.context_default
        self.net.to(self.device)

    def with_config(self, **changes: Any) -> "UnrolledRunner":
        return UnrolledRunner(self.net, replace(self.cfg, **changes))

    def plan(self, h: int, w: int, tile: int | None):  # type: ignore[no-untyped-def]
        return self.prior.plan(h, w, tile)

    @torch.inference_mode()
    def restore(self, rgb: np.ndarray, cond: KernelField | None = None, tile: int | None = -1,
                progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        if cond is None:
            raise UsageError("the non-blind network needs a kernel", "use --method kernel or --kernel FILE")
        if cond.kernels.shape[0] * cond.kernels.shape[1] != 1:
            raise UsageError("a spatially varying PSF field is not supported by the non-blind network yet")
        h, w = rgb.shape[:2]
        k = torch.from_numpy(np.ascontiguousarray(cond.kernels[0, 0], np.float32))[None, None].to(self.device)
        p = self.net.mirror_px(h, w, 2 * support_radius(cond.kernels[0, 0]) + 1)
        x = torch.from_numpy(np.ascontiguousarray(rgb, np.float32)).permute(2, 0, 1)[None].to(self.device)
        data = DataTerm(F.pad(x, (p, p, p, p), mode="reflect"), k)
        alpha, beta = self.net.stage_weights(torch.tensor([[cond.sigma]], device=self.device))
        n = self.net.cfg.iters

        def tiled(x: torch.Tensor, t: int) -> torch.Tensor:
            stage = (lambda d, m: progress(t * m + d, n * m)) if progress else None
            z_np = self.prior.restore(x[0].permute(1, 2, 0).cpu().numpy(), Level(float(beta[0, t])), tile=tile, progress=stage)
            return torch.from_numpy(z_np).permute(2, 0, 1)[None].to(self.device)

        z = self.net.unroll(data, alpha, tiled)
        check_reblur(data, z, p, h, w)
        out = np.ascontiguousarray(z[0, :, p : p + h, p : p + w].permute(1, 2, 0).cpu().numpy())
        return keep_tone(out, rgb, self.cfg.tone_sigma) if self.cfg.tone_sigma > 0 else out
