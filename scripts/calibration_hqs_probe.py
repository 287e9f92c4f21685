"""Is it the PSF field or the net that keeps `hqs` below blind DPA on the simulated camera modules?

    python scripts/calibration_hqs_probe.py > docs/calibration_hqs_probe.txt
    python scripts/calibration_hqs_probe.py --run runs/hqs-lens     # a training run's best.pt instead

The modules of `deblur bench --calibration --val --count 24` (6 modules × 3 photos, σ 0.01): `hqs` with
the calibrated (estimated) PSF field and with the TRUE field, with the tone guard users get (σ 32) and
without it; Wiener with the true field for scale. PSNR dB.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from deblurcli import archs
from deblurcli import evaluation as ev
from deblurcli.calibration.noise import value_sigma
from deblurcli.calibration.psf import estimate_field
from deblurcli.classical import field_deconvolve
from deblurcli.cli.bench_quality import _images
from deblurcli.deconv.field import restore_field
from deblurcli.engine.runner import RunConfig
from deblurcli.engine.tone import DEFAULT_SIGMA
from deblurcli.engine.unrolled import UnrolledRunner
from deblurcli.models.loader import load_model
from deblurcli.synth.degrade import lens_psfs
from deblurcli.synth.kernels import canvas


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, help="a training run folder (its best.pt) instead of the shipped hqs")
    a = ap.parse_args()
    torch.set_num_threads(2)
    mods = ev.lens_modules(_images(None, True, 24), modules=6, photos=3, seed=7)
    if a.run:
        st = torch.load(a.run / "best.pt", map_location="cpu", weights_only=False)
        net = archs.build(st["config"]["arch"], st["config"]["hparams"])
        net.load_state_dict(st["model"])
    else:
        net, _ = load_model("hqs", "deconv")
    runners = {t: UnrolledRunner(net, RunConfig(device="cpu", precision="auto", tile=512, tone_sigma=t)) for t in (DEFAULT_SIGMA, 0.0)}
    rows: dict[str, list[float]] = {}
    for m in mods:
        ps = lens_psfs(m["field"])
        g, s = m["field"].grid, max(max(p.shape) for p in ps) | 1
        fields = {"true": np.array([canvas(p, s) for p in ps], np.float32).reshape(g, g, s, s),
                  "calibrated": estimate_field(m["cal_sharp"], m["cal_blur"])}
        for sharp, blur in m["photos"]:
            rows.setdefault("blurry input", []).append(ev.score(blur, sharp)[0])
            rows.setdefault("Wiener, true field", []).append(ev.score(field_deconvolve(blur, fields["true"]), sharp)[0])
            for name, f in fields.items():
                for t, r in runners.items():
                    key = f"hqs, {name} field, tone guard {t:g}"
                    rows.setdefault(key, []).append(ev.score(restore_field(blur, f, r, value_sigma(blur)), sharp)[0])
    print("$ python scripts/calibration_hqs_probe.py " + " ".join(sys.argv[1:]))
    for k, v in rows.items():
        print(f"{k:<40} {np.mean(v):6.2f}")


if __name__ == "__main__":
    main()
