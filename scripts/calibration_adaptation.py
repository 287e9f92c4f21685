"""#5 experiment: can the calibration pair teach more than the calibrated DPE prior does? Per simulated
camera module (the `deblur bench --calibration --val` set: 6 modules × 3 photos, seed 7), adapt to the
module's calibration pair by gradient descent on L1(DPA(blurred), sharp), then restore the module's
*other* photos:

- ``prior``: refine the calibrated prior itself (every grid cell, level and channel) through the frozen net;
- ``prior4``: refine only a smooth 4×4 correction of it (less room to memorise the calibration photo);
- ``weights``: fine-tune the DPA net's weights (the DPE prior fixed) — test-time adaptation to the camera;
- ``field``: fine-tune the DPA net on *training* photos (never the validation set) blurred with the
  module's PSF field, so it specialises to the camera without memorising the calibration photo:
  ``--field est`` the field estimated from the calibration pair (what a user would get), ``--field
  true`` the module's true field (the oracle: how far specialising can go).

    python scripts/calibration_adaptation.py --mode weights --steps 30 --lr 2e-5 [--model dpa-compact]
    python scripts/calibration_adaptation.py --mode field --field true --steps 100 --lr 1e-4 --modules 3

Measured (session 8, ``--model dpa-lite --mode field --steps 200 --lr 1e-4 --modules 3``; PSNR dB):
blurry input 23.04, blind 25.05, calibrated prior 25.33, adapted with the true field 25.84, with the
estimated field 25.55 (600 steps: 25.50, so more steps do not help; the estimate limits it). Session 9,
true field, 600 steps: 25.98 (+0.93 over blind): with an exact field more steps do help.
`deblur calibrate --adapt-images` is the product form of ``--field est``.
"""

from __future__ import annotations

import argparse
import copy
import itertools

import numpy as np
import torch
import torch.nn.functional as F

from deblurcli.calibration.estimate import estimate_prior
from deblurcli.calibration.psf import estimate_field
from deblurcli.cli.bench_quality import _images
from deblurcli.engine.runner import PriorField, Runner, RunConfig
from deblurcli.evaluation import lens_modules, score, to_tensor
from deblurcli.hub.registry import load_registry
from deblurcli.models.loader import load_entry
from deblurcli.synth.data import TRAIN_DIRS, augment, data_root, load_images, random_crop
from deblurcli.synth.degrade import field_blur, lens_psfs, sensor, to_gamma, to_linear

BORDER = 16  # reflect-padded borders are not a camera's blur


def field_pairs(mod: dict, which: str, sources: list[np.ndarray], n: int, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    """``n`` (blurred, sharp) training crops of the module's size, blurred with its true or estimated field."""
    if which == "true":
        psfs, g = lens_psfs(mod["field"]), mod["field"].grid
    else:
        est = estimate_field(mod["cal_sharp"], mod["cal_blur"])
        psfs, g = [k for row in est for k in row], est.shape[0]
    size = mod["cal_sharp"].shape[0]
    while True:
        xs, ys = [], []
        for _ in range(n):
            s = np.ascontiguousarray(augment(random_crop(sources[int(rng.integers(len(sources)))], rng, size), rng))
            xs.append(to_tensor(sensor(to_gamma(field_blur(to_linear(s), psfs, g, g)), rng, noise=0.01, jpeg_p=0.0)))
            ys.append(to_tensor(s))
        yield torch.cat(xs), torch.cat(ys)


def adapt(model, levels, batches, mode: str, steps: int, lr: float):  # type: ignore[no-untyped-def]
    """Return (model, prior levels) adapted to one module; ``batches`` yields (blurred, sharp) tensors."""
    net = copy.deepcopy(model) if mode in ("weights", "field") else model
    if mode in ("weights", "field"):
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
    b = BORDER
    for _ in range(steps):
        xb, xs = next(batches)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = net(xb, [p.expand(len(xb), -1, -1, -1) for p in prior()])
        loss = (y.float() - xs)[..., b:-b, b:-b].abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    return net, [p.detach() for p in prior()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="dpa-compact")
    ap.add_argument("--mode", choices=("prior", "prior4", "weights", "field"), default="weights")
    ap.add_argument("--field", choices=("est", "true"), default="est", help="with --mode field")
    ap.add_argument("--batch", type=int, default=4, help="with --mode field")
    ap.add_argument("--modules", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--lr", type=float, default=2e-5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model, _ = load_entry(load_registry().get(a.model))
    model.eval()
    for q in model.parameters():
        q.requires_grad_(False)
    mods = lens_modules(_images(None, True, 24), 6, 3, seed=7)[: a.modules]
    sources = load_images(data_root(), TRAIN_DIRS[:1]) if a.mode == "field" else []
    cfg = RunConfig(tile=512)
    blind_runner = Runner(model, cfg)
    rows: dict[str, list[float]] = {k: [] for k in ("blurry input", "blind", "calibrated prior", f"adapted ({a.mode})")}
    for mod in mods:
        levels = estimate_prior(model, mod["cal_sharp"], mod["cal_blur"])
        if a.mode == "field":
            batches = field_pairs(mod, a.field, sources, a.batch, np.random.default_rng([7, len(rows["blind"])]))
        else:
            batches = itertools.repeat((to_tensor(mod["cal_blur"]), to_tensor(mod["cal_sharp"])))
        net, adapted = adapt(model, levels, batches, a.mode, a.steps, a.lr)
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
