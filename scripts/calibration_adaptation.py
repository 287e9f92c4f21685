"""#5 experiment: can the calibration pair teach more than the calibrated DPE prior does? Per simulated
camera module (the `deblur bench --calibration --val` set: 6 modules × 3 photos, seed 7), adapt to the
module's calibration pair by gradient descent on L1(DPA(blurred), sharp), then restore the module's
*other* photos:

- ``prior``: refine the calibrated prior itself (every grid cell, level and channel) through the frozen net;
- ``prior4``: refine only a smooth 4×4 correction of it (less room to memorise the calibration photo);
- ``weights``: fine-tune the DPA net's weights (the DPE prior fixed) — test-time adaptation to the camera.

    python scripts/calibration_adaptation.py --mode weights --steps 30 --lr 2e-5 [--model dpa-compact]
"""

from __future__ import annotations

import argparse
import copy

import numpy as np
import torch
import torch.nn.functional as F

from deblurcli.calibrate.estimate import estimate_prior
from deblurcli.cli.bench_quality import _images
from deblurcli.engine.runner import PriorField, Runner, RunConfig
from deblurcli.evaluation import lens_modules, score, to_tensor
from deblurcli.hub.registry import load_registry
from deblurcli.models.loader import load_entry

BORDER = 16  # reflect-padded borders are not a camera's blur


def adapt(model, levels, cal_sharp, cal_blur, mode: str, steps: int, lr: float):  # type: ignore[no-untyped-def]
    """Return (model, prior levels) adapted to one calibration pair."""
    net = copy.deepcopy(model) if mode == "weights" else model
    if mode == "weights":
        params = list(net.dpa.parameters())
        for q in params:
            q.requires_grad_(True)
        prior = lambda: levels  # noqa: E731
    else:
        g = 4 if mode == "prior4" else levels[0].shape[-1]
        params = [torch.zeros(lev.shape[0], lev.shape[1], g, g, requires_grad=True) for lev in levels]
        prior = lambda: [lev + F.interpolate(d, size=lev.shape[-2:], mode="bilinear", align_corners=True)  # noqa: E731
                         for lev, d in zip(levels, params)]
    opt = torch.optim.Adam(params, lr=lr)
    xb, xs = to_tensor(cal_blur), to_tensor(cal_sharp)
    b = BORDER
    for _ in range(steps):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = net(xb, prior())
        loss = (y.float() - xs)[..., b:-b, b:-b].abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    return net, [p.detach() for p in prior()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="dpa-compact")
    ap.add_argument("--mode", choices=("prior", "prior4", "weights"), default="weights")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--lr", type=float, default=2e-5)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model, _ = load_entry(load_registry().get(a.model))
    model.eval()
    for q in model.parameters():
        q.requires_grad_(False)
    mods = lens_modules(_images(None, True, 24), 6, 3, seed=7)
    cfg = RunConfig(tile=512)
    blind_runner = Runner(model, cfg)
    rows: dict[str, list[float]] = {k: [] for k in ("blurry input", "blind", "calibrated prior", f"adapted ({a.mode})")}
    for mod in mods:
        levels = estimate_prior(model, mod["cal_sharp"], mod["cal_blur"])
        net, adapted = adapt(model, levels, mod["cal_sharp"], mod["cal_blur"], a.mode, a.steps, a.lr)
        runner = Runner(net, cfg)
        for sharp, blur in mod["photos"]:
            rows["blurry input"].append(score(blur, sharp)[0])
            rows["blind"].append(score(blind_runner.restore(blur), sharp)[0])
            rows["calibrated prior"].append(score(blind_runner.restore(blur, PriorField(tuple(levels))), sharp)[0])
            rows[f"adapted ({a.mode})"].append(score(runner.restore(blur, PriorField(tuple(adapted))), sharp)[0])
    print(f"{a.model}, {len(mods)} camera modules × 3 photos, adaptation: {a.mode}, {a.steps} steps, lr {a.lr:g}; PSNR dB")
    for k, v in rows.items():
        print(f"  {k:24s} {np.mean(v):.2f}")


if __name__ == "__main__":
    main()
