"""Validation PSNR/SSIM of a model on the fixed-seed validation sets (one per degradation kind)."""

from __future__ import annotations

import functools
from contextlib import nullcontext

import numpy as np
import torch
from torch import nn

from ..archs import ARCHS
from ..metrics import scores
from ..synth import valset


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a).permute(0, 3, 1, 2).contiguous() if a.ndim == 4 else torch.from_numpy(a).unsqueeze(1)


@torch.inference_mode()
def run_model(model: nn.Module, arch: str, data: dict[str, np.ndarray], mode: str = "blind", bf16: bool = True,
              chunk: int = 4) -> torch.Tensor:
    """Restore every image of a validation set; ``mode``: blind | calibrated | uniform (dpa), true (svbr)."""
    outs = []
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()
    blur = _t(data["blur"])
    for i in range(0, len(blur), chunk):
        x = blur[i : i + chunk]
        with ctx:
            if arch == "dpa" and mode in ("calibrated", "uniform"):
                prior = model.estimate_prior(_t(data["cal_sharp"][i : i + chunk]), _t(data["cal_blur"][i : i + chunk]))
                if mode == "uniform":
                    prior = [p.mean((2, 3), keepdim=True).expand_as(p) for p in prior]
                y = model(x, prior)
            elif ARCHS[arch].takes_blur_map:
                y = model(x, _t(data[mode][i : i + chunk]) if mode in data else _t(data["radius"][i : i + chunk]))
            else:
                y = model(x)
        outs.append(y.float().clamp(0, 1))
    return torch.cat(outs)


def score(restored: torch.Tensor, sharp: np.ndarray) -> tuple[float, float]:
    p, s = scores(restored, _t(sharp))
    return float(p.mean()), float(s.mean())


@functools.lru_cache(maxsize=4)
def _edge_mae(n: int, size: int) -> float:
    """The edge estimator's radius error on the defocus set: fixed, so computed once per process."""
    from ..defocus.estimate import estimate_radius

    data = valset.load("defocus", n=n, size=size)
    edge = np.stack([estimate_radius(b) for b in data["blur"]])
    return float(np.abs(edge - data["radius"]).mean())


@torch.inference_mode()
def validate_blurmap(model: nn.Module, n: int, size: int, bf16: bool = True) -> dict[str, dict[str, float]]:
    """{"defocus": {mae, mae_edge}}: mean |radius error| (px) of the learned and the edge estimator."""
    data = valset.load("defocus", n=n, size=size)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()
    with ctx:
        est = model(_t(data["blur"])).float()[:, 0].numpy()
    return {"defocus": {"mae": float(np.abs(est - data["radius"]).mean()), "mae_edge": _edge_mae(n, size)}}


def validate(model: nn.Module, arch: str, kinds: tuple[str, ...], n: int, size: int, bf16: bool = True) -> dict[str, dict[str, float]]:
    """{kind[/mode]: {psnr, ssim, psnr_input, ssim_input}}; for the blur-map estimator, its MAE."""
    model.eval()
    if arch == "blurmap":
        return validate_blurmap(model, n, size, bf16)
    res: dict[str, dict[str, float]] = {}
    for kind in kinds:
        if ARCHS[arch].takes_blur_map and kind != "defocus":
            continue
        data = valset.load(kind, n=n, size=size)
        base = score(_t(data["blur"]), data["sharp"])
        modes = ["blind", "calibrated"] if (arch == "dpa" and kind == "lens") else ["blind"]
        for mode in modes:
            p, s = score(run_model(model, arch, data, mode, bf16), data["sharp"])
            key = kind if mode == "blind" else f"{kind}/{mode}"
            res[key] = {"psnr": p, "ssim": s, "psnr_input": base[0], "ssim_input": base[1]}
    return res
