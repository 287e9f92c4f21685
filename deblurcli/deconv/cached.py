"""Blind kernel estimates of the foreign sets' photos, computed once and kept on disk.

The estimator is deterministic, and it is the slow part of evaluating `--method kernel` (about 5 s a
photo here); caching its results lets a non-blind checkpoint be scored on ESTIMATED kernels in the time
the net itself takes (``scripts/kernel_eval.py``, training validation of ``<set>/est``). The cache key
is the set, its size, the estimator's config and ``estimate.VERSION`` (raise it when the estimator's
code changes what it returns).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable

import numpy as np

from ..synth.data import cache_dir
from .estimate import VERSION, EstimateConfig, KernelEstimate, estimate


def _path(kind: str, count: int, cfg: EstimateConfig):  # type: ignore[no-untyped-def]
    key = hashlib.sha256(json.dumps([kind, count, VERSION, dataclasses.asdict(cfg)], sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir() / "foreign_estimates" / f"{kind}-{count}-{key}.npz"


def foreign_estimates(kind: str, items: list[dict[str, np.ndarray]], count: int,
                      cfg: EstimateConfig = EstimateConfig(),
                      progress: Callable[[int, int], None] | None = None) -> list[KernelEstimate]:
    """One estimate per item of foreign set ``kind`` (built with ``count`` photos per kernel), from the
    cache when it is there."""
    path = _path(kind, count, cfg)
    if path.exists():
        with np.load(path) as z:
            if len(z["confidence"]) == len(items):
                agree = z["agreement"] if "agreement" in z.files else np.ones(len(items))
                return [KernelEstimate(kernel=z[f"k{i}"], confidence=float(z["confidence"][i]), scale=float(z["scale"][i]),
                                       agreement=float(agree[i])) for i in range(len(items))]
    out = []
    for i, it in enumerate(items):
        out.append(estimate(it["blur"], cfg))
        if progress is not None:
            progress(i + 1, len(items))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part.npz")
    np.savez_compressed(tmp, confidence=np.array([e.confidence for e in out], np.float32),
                        scale=np.array([e.scale for e in out], np.float32),
                        agreement=np.array([e.agreement for e in out], np.float32), **{f"k{i}": e.kernel for i, e in enumerate(out)})
    tmp.replace(path)
    return out
