"""A calibration chart: the SHARP side of `deblur calibrate` that measures a lens best.

A natural photo leaves much of the field with little texture (sky, walls, bokeh), and there the
per-cell least-squares PSF estimate (``psf.estimate_field``) has nothing to fit. The chart is half dead
leaves (occluding discs with power-law radii: edges at every scale and orientation, and features for
the SIFT + ECC registration) and half white noise (equal energy at every spatial frequency, so every
cell pins down the whole PSF). On the simulated camera modules its PSF widths are within 7% of the
truth on average, against 14-16% from natural photos of the same size, whose worst cells are off by
more than 100% (``python scripts/psf_field_error.py`` → ``docs/logs/psf_field_error.txt``).
Workflow: `deblur chart chart.png --size 4000x3000`, show it full screen or print it, photograph it
filling the frame with the module, then `deblur calibrate chart.png photo.jpg`.
"""

from __future__ import annotations

import numpy as np

from ..synth.data import dead_leaves

NOISE_SHARE = 0.5
_DISCS_PER_PX = 3000 / 512**2  # dead-leaves density; capped for very large charts (drawing time)
_MAX_DISCS = 60_000


def make_chart(height: int, width: int, seed: int = 0) -> np.ndarray:
    """An H×W×3 float32 chart in [0, 1], deterministic in ``seed``."""
    if height < 16 or width < 16:
        raise ValueError(f"a chart needs at least 16×16 px, not {width}×{height}")
    rng = np.random.default_rng([seed, 1909])
    side = max(height, width)
    n = min(_MAX_DISCS, max(500, round(_DISCS_PER_PX * side * side)))
    leaves = dead_leaves(rng, side, n=n)[:height, :width]
    noise = rng.random((height, width, 1), dtype=np.float32)
    return np.clip((1 - NOISE_SHARE) * leaves + NOISE_SHARE * noise, 0, 1).astype(np.float32)
