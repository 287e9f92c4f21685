"""The PSF as a per-tile condition of a non-blind net (``archs.hqs``): one kernel for the whole photo,
or a gh×gw field of them (a calibrated camera's), interpolated bilinearly at each tile's centre; the
tiles' smooth blending then joins the regions without seams."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class KernelField:
    kernels: np.ndarray  # (gh, gw, S, S) on the net's canvas (S odd, centre S // 2), each summing to 1
    sigma: float  # noise level of the photo's values

    @classmethod
    def uniform(cls, kernel: np.ndarray, sigma: float) -> "KernelField":
        return cls(np.asarray(kernel, np.float32)[None, None], float(sigma))

    def at(self, cy: float, cx: float, height: int, width: int) -> np.ndarray:
        """The kernel at image position (cy, cx): bilinear between the field's cell centres."""
        gh, gw = self.kernels.shape[:2]
        if gh * gw == 1:
            return self.kernels[0, 0]
        gy = float(np.clip(cy / height * gh - 0.5, 0, gh - 1))
        gx = float(np.clip(cx / width * gw - 0.5, 0, gw - 1))
        y0, x0 = int(np.floor(gy)), int(np.floor(gx))
        y1, x1 = min(y0 + 1, gh - 1), min(x0 + 1, gw - 1)
        fy, fx = gy - y0, gx - x0
        k = ((1 - fy) * (1 - fx) * self.kernels[y0, x0] + (1 - fy) * fx * self.kernels[y0, x1]
             + fy * (1 - fx) * self.kernels[y1, x0] + fy * fx * self.kernels[y1, x1])
        return k / k.sum()

    def for_tile(self, y0: int, y1: int, x0: int, x1: int, height: int, width: int, scale: int = 1) -> dict[str, Any]:
        cy = (max(y0, 0) + min(y1, height)) / 2
        cx = (max(x0, 0) + min(x1, width)) / 2
        k = self.at(cy, cx, height, width)
        return {"kernel": torch.from_numpy(np.ascontiguousarray(k, np.float32))[None, None],
                "sigma": torch.tensor([[self.sigma]], dtype=torch.float32)}
