"""Model statistics: parameter count and GFLOP per megapixel (counted with torch's FLOP counter)."""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn


def params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def gflop_per_mp(model: nn.Module, arch: str, side: int = 256) -> float:
    """Forward GFLOP for one megapixel (measured on a side×side input and scaled)."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.rand(1, 3, side, side)
    from .archs import ARCHS

    kw = {"blur_map": torch.ones(1, 1, side, side)} if ARCHS[arch].takes_blur_map else {}
    if ARCHS[arch].takes_kernel:
        c = model.cfg.canvas  # type: ignore[union-attr]
        kw = {"kernel": torch.full((1, 1, c, c), 1.0 / (c * c)), "sigma": torch.full((1, 1), 0.01)}
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model.eval()(x, **kw)
    return fc.get_total_flops() / 1e9 * (1e6 / (side * side))


@lru_cache(maxsize=32)
def _cached(arch: str, hp_key: str) -> dict[str, float]:
    import json

    from .archs import build

    m = build(arch, json.loads(hp_key))
    return {"params": params(m), "gflop_per_mp": round(gflop_per_mp(m, arch), 2)}


def model_stats(model: nn.Module, arch: str) -> dict[str, float]:
    import json

    from .archs import hparams_of

    return _cached(arch, json.dumps(hparams_of(model), sort_keys=True))
