"""#5: pick the weight of the PSF step that follows calibrated deblurring (``classical.PSF_STEP_NSR``),
on simulated camera modules made from *training* photos (BSDS200, photos 100-123, module seed 11), so
the validation modules of `deblur bench --calibration --val` stay unseen. Prints calibrated DPA alone
and followed by the step at each weight (PSNR dB, mean over photos).

    python scripts/psf_step_tune.py [--model dpa-compact]   (docs/psf_step_tune.txt)
"""

from __future__ import annotations

import argparse

import numpy as np

from deblurcli import evaluation as ev
from deblurcli.calibration.estimate import estimate_prior
from deblurcli.calibration.psf import estimate_field
from deblurcli.classical import field_deconvolve
from deblurcli.models.loader import registered
from deblurcli.cli.bench_quality import _images
from deblurcli.engine.runner import PriorField, RunConfig, Runner
from deblurcli.synth.data import data_root

WEIGHTS = (0.01, 0.03, 0.1, 0.3, 1.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="dpa-compact")
    a = ap.parse_args()
    model = registered([a.model])[a.model][0]
    photos = _images(data_root() / "train" / "bsds200", False, 124)[100:124]
    mods = ev.lens_modules(photos, modules=6, photos=3, seed=11, chart=True)
    runner = Runner(model, RunConfig(tile=512))
    rows: dict[str, list[float]] = {"calibrated DPA": []} | {f"+ PSF step, weight {w:g}": [] for w in WEIGHTS}
    for mod in mods:
        prior = PriorField(tuple(estimate_prior(model, mod["cal_sharp"], mod["cal_blur"])))
        psfs = estimate_field(mod["cal_sharp"], mod["cal_blur"])
        for sharp, blur in mod["photos"]:
            out = runner.restore(blur, prior)
            rows["calibrated DPA"].append(ev.score(out, sharp)[0])
            for w in WEIGHTS:
                rows[f"+ PSF step, weight {w:g}"].append(ev.score(field_deconvolve(blur, psfs, w, ref=out), sharp)[0])
    print(f"{a.model}, chart pairs, 6 modules of training photos (seed 11), 3 photos each")
    for k, v in rows.items():
        print(f"  {k:32s} {np.mean(v):.2f}")


if __name__ == "__main__":
    main()
