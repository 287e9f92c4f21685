"""The PSF a non-blind net (``archs.hqs``) is given, with the photo's noise level. ``kernels`` is a
gh×gw field (a calibrated camera's would be one); ``engine.unrolled`` takes a single kernel (1×1) for
now and refuses a field."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KernelField:
    kernels: np.ndarray  # (gh, gw, S, S) on the net's canvas (S odd, centre S // 2), each summing to 1
    sigma: float  # noise level of the photo's values

    @classmethod
    def uniform(cls, kernel: np.ndarray, sigma: float) -> "KernelField":
        return cls(np.asarray(kernel, np.float32)[None, None], float(sigma))
