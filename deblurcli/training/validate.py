"""Validation PSNR/SSIM of a model on the fixed-seed validation sets (one per degradation kind)."""

from __future__ import annotations

import functools
from contextlib import nullcontext

import numpy as np
import torch
from torch import nn

from ..archs import ARCHS
from ..metrics import aligned_scores, scores
from ..calibration.noise import value_sigma
from ..synth import foreign, kernels, valset


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a).permute(0, 3, 1, 2).contiguous() if a.ndim == 4 else torch.from_numpy(a).unsqueeze(1)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _autocast(device: torch.device, bf16: bool):  # type: ignore[no-untyped-def]
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()


@torch.inference_mode()
def run_model(model: nn.Module, arch: str, data: dict[str, np.ndarray], mode: str = "blind", bf16: bool = True,
              chunk: int = 4) -> torch.Tensor:
    """Restore every image of a validation set on the model's device (results on the CPU); ``mode``:
    blind | calibrated | uniform (dpa), true (svbr)."""
    outs = []
    dev = _device(model)
    t = lambda a: _t(a).to(dev)  # noqa: E731
    blur = data["blur"]
    for i in range(0, len(blur), chunk):
        x = t(blur[i : i + chunk])
        with _autocast(dev, bf16):
            if arch == "dpa" and mode in ("calibrated", "uniform"):
                prior = model.estimate_prior(t(data["cal_sharp"][i : i + chunk]), t(data["cal_blur"][i : i + chunk]))
                if mode == "uniform":
                    prior = [p.mean((2, 3), keepdim=True).expand_as(p) for p in prior]
                y = model(x, prior)
            elif ARCHS[arch].takes_blur_map:
                y = model(x, t(data[mode][i : i + chunk]) if mode in data else t(data["radius"][i : i + chunk]))
            else:
                y = model(x)
        outs.append(y.float().clamp(0, 1).cpu())
    return torch.cat(outs)


def score(restored: torch.Tensor, sharp: np.ndarray) -> tuple[float, float]:
    p, s = scores(restored, _t(sharp))
    return float(p.mean()), float(s.mean())


@functools.lru_cache(maxsize=4)
def _edge_mae(n: int, size: int) -> float:
    """The edge estimator's radius error on the defocus set: fixed, so computed once per process."""
    from ..defocusing.estimate import estimate_radius

    data = valset.load("defocus", n=n, size=size)
    edge = np.stack([estimate_radius(b) for b in data["blur"]])
    return float(np.abs(edge - data["radius"]).mean())


@torch.inference_mode()
def validate_blurmap(model: nn.Module, n: int, size: int, bf16: bool = True) -> dict[str, dict[str, float]]:
    """{"defocus": {mae, mae_edge}}: mean |radius error| (px) of the learned and the edge estimator."""
    data = valset.load("defocus", n=n, size=size)
    dev = _device(model)
    with _autocast(dev, bf16):
        est = model(_t(data["blur"]).to(dev)).float()[:, 0].cpu().numpy()
    return {"defocus": {"mae": float(np.abs(est - data["radius"]).mean()), "mae_edge": _edge_mae(n, size)}}


@functools.lru_cache(maxsize=8)
def _foreign_items(kind: str) -> tuple[tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]], ...]:
    """(blur, sharp, the non-blind net's inputs: the estimated noise level, and the true kernel where the
    set has one; the real GoPro pairs have none, and are scored with an estimate only, ``gopro/est``)."""
    items = []
    for it in foreign.build(kind):
        extra = {"sigma": torch.tensor([[value_sigma(it["blur"])]])} | ({"kernel": it["kernel"]} if "kernel" in it else {})
        items.append((_t(it["blur"][None]), _t(it["sharp"][None]), extra))
    return tuple(items)


@functools.lru_cache(maxsize=8)
def _foreign_input(kind: str) -> np.ndarray:
    """The blurry input's mean (PSNR, SSIM, level) on a foreign set: fixed, so computed once per process."""
    return np.mean([aligned_scores(blur, sharp) for blur, sharp, _ in _foreign_items(kind)], 0)


EST = "/est"  # a foreign set's suffix: the non-blind net given our estimator's kernels, not the true ones


@functools.lru_cache(maxsize=8)
def _estimated(kind: str) -> dict[int, np.ndarray]:
    """{item: estimated kernel} of the foreign set's photos that `--method kernel` sends to the non-blind
    net (a confident shake), from ``deconv.cached`` (computed there once, about 5 s a photo)."""
    from ..deconv.cached import foreign_estimates

    photos = [{"blur": blur[0].permute(1, 2, 0).numpy()} for blur, _, _ in _foreign_items(kind)]  # not built again
    ests = foreign_estimates(kind, photos, 12)
    return {i: e.kernel for i, e in enumerate(ests) if e.ok}


@torch.inference_mode()
def validate_foreign(model: nn.Module, kind: str, bf16: bool = True) -> dict[str, float]:
    """A foreign set (``synth.foreign``), blind (a non-blind net: given the true kernel; for
    ``<set>/est``, given the estimate, on the photos that get one), scored after the best shift within
    ±10 px; with the mean-level shift (1/255) of the output and of the input."""
    dev = _device(model)
    base, est = (kind[: -len(EST)], True) if kind.endswith(EST) else (kind, False)
    given = _estimated(base) if est else {}
    out, inp = [], []
    for j, (blur, sharp, extra) in enumerate(_foreign_items(base)):
        kw = {}
        if est and j not in given:
            continue
        if getattr(model, "cond", None) == "kernel":  # the true (or estimated) kernel, on this net's canvas
            k = torch.from_numpy(kernels.canvas(given[j] if est else extra["kernel"], model.cfg.canvas))[None, None]
            kw = {"kernel": k.to(dev), "sigma": extra["sigma"].to(dev)}
        with _autocast(dev, bf16):
            y = model(blur.to(dev), **kw).float().clamp(0, 1).cpu()
        out.append(aligned_scores(y, sharp))
        if est:
            inp.append(aligned_scores(blur, sharp))
    o, i = np.mean(out, 0), (np.mean(inp, 0) if est else _foreign_input(kind))
    return {"psnr": float(o[0]), "ssim": float(o[1]), "level_255": float(o[2]),
            "psnr_input": float(i[0]), "ssim_input": float(i[1]), "level_255_input": float(i[2])}


def validate(model: nn.Module, arch: str, kinds: tuple[str, ...], n: int, size: int, bf16: bool = True) -> dict[str, dict[str, float]]:
    """{kind[/mode]: {psnr, ssim, psnr_input, ssim_input}} on the model's device; for the blur-map
    estimator, its MAE. Foreign
    kinds (``synth.foreign.FOREIGN``) also carry the mean-level shifts."""
    model.eval()
    if arch == "blurmap":
        return validate_blurmap(model, n, size, bf16)
    res: dict[str, dict[str, float]] = {}
    for kind in kinds:
        if ARCHS[arch].takes_blur_map and kind != "defocus":
            continue
        if kind.endswith(EST) and not ARCHS[arch].takes_kernel:
            continue
        if ARCHS[arch].takes_kernel and not (foreign.is_foreign(kind.removesuffix(EST)) and kind != "gopro"):
            continue  # a non-blind net is scored where the true kernel is known, or with an estimate
        if foreign.is_foreign(kind.removesuffix(EST)):
            res[kind] = validate_foreign(model, kind, bf16)
            continue
        data = valset.load(kind, n=n, size=size)
        base = score(_t(data["blur"]), data["sharp"])
        modes = ["blind", "calibrated"] if (arch == "dpa" and kind == "lens") else ["blind"]
        for mode in modes:
            p, s = score(run_model(model, arch, data, mode, bf16), data["sharp"])
            key = kind if mode == "blind" else f"{kind}/{mode}"
            res[key] = {"psnr": p, "ssim": s, "psnr_input": base[0], "ssim_input": base[1]}
    return res
