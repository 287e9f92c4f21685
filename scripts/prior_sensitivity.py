"""How much DPA Net's output depends on the distortion prior it is given: on simulated camera modules
(a lens field each, one calibration pair, 3 photos; CBSD68 validation crops, never trained on), the
calibrated prior, the same prior with its PSF-descriptor channels replaced by the true descriptor or
tripled, a spatially uniform prior, an all-zero prior, and blind mode. If a correct descriptor does
not beat a wrong one, the restorer is not using the prior, whatever the estimator does.

    python scripts/prior_sensitivity.py --modules 8 > docs/prior_sensitivity.txt
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from deblurcli.archs.dpa import grid_mean
from deblurcli.calibration.estimate import estimate_prior
from deblurcli.cli.bench_quality import _images
from deblurcli.engine.runner import PriorField, Runner, RunConfig
from deblurcli.evaluation import lens_modules, score, to_tensor
from deblurcli.hub.registry import load_registry
from deblurcli.models.loader import load_entry
from deblurcli.synth.degrade import degrade
from deblurcli.training.losses import PRIOR_AUX_LEVEL, psf_descriptor


def _with_descriptor(levels: list[torch.Tensor], desc: torch.Tensor) -> PriorField:
    out = [lev.clone() for lev in levels]
    out[PRIOR_AUX_LEVEL][:, :3] = desc
    return PriorField(tuple(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modules", type=int, default=8)
    args = ap.parse_args()
    entry = load_registry().default_for("calibrate")
    model = load_entry(entry)[0]
    runner = Runner(model, RunConfig(precision="auto", tile=512))
    g = model.cfg.prior_grid
    mods = lens_modules(_images(None, True, 68), args.modules, 3, seed=7)
    rows: dict[str, list[float]] = {k: [] for k in (
        "blurry input", "blind (prior from the photo)", "calibrated prior", "calibrated, true PSF descriptor",
        "calibrated, descriptor × 3", "uniform prior (calibrated mean)", "all-zero prior")}
    for mod in mods:
        levels = estimate_prior(model, mod["cal_sharp"], mod["cal_blur"])
        m = degrade(mod["cal_sharp"], np.random.default_rng(0), "lens", mod["field"]).moments  # the field's PSFs
        desc = psf_descriptor(grid_mean(to_tensor(m), g))
        priors = {
            "calibrated prior": PriorField(tuple(levels)),
            "calibrated, true PSF descriptor": _with_descriptor(levels, desc),
            "calibrated, descriptor × 3": _with_descriptor(levels, 3 * levels[PRIOR_AUX_LEVEL][:, :3]),
            "uniform prior (calibrated mean)": PriorField(tuple(lev.mean((2, 3), keepdim=True).expand_as(lev).contiguous() for lev in levels)),
            "all-zero prior": PriorField(tuple(torch.zeros_like(lev) for lev in levels)),
        }
        for sharp, blur in mod["photos"]:
            rows["blurry input"].append(score(blur, sharp)[0])
            rows["blind (prior from the photo)"].append(score(runner.restore(blur), sharp)[0])
            for name, prior in priors.items():
                rows[name].append(score(runner.restore(blur, prior), sharp)[0])
    print(f"DPA Net ({entry.id}) on {len(mods)} simulated camera modules × 3 photos (256² CBSD68 crops), PSNR dB:")
    for name, v in rows.items():
        print(f"  {name:34s} {np.mean(v):.2f}")


if __name__ == "__main__":
    main()
