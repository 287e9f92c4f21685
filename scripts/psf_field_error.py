"""#5: how well the PSF field is read from a calibration pair whose sharp side is a natural photo vs a
calibration chart (`deblur chart`), on the simulated camera modules of `deblur bench --calibration`
(the same fields; a photo picked per module; the same sensor noise). Prints, per module, the mean and
worst relative error of the PSF width (``psf_stats(k).width``) over the estimate's grid cells against
the true field.

    python scripts/psf_field_error.py [--size 256] [--modules 6]   (docs/psf_field_error.txt)

``--size 256``: the centre crops `deblur bench --calibration --val` uses; ``--size 0``: whole CBSD68
photos (481×321).
"""

from __future__ import annotations

import argparse

import numpy as np

from deblurcli.calibration.chart import make_chart
from deblurcli.calibration.psf import estimate_field, width_errors
from deblurcli.cli.bench_quality import _images
from deblurcli.synth.data import VAL_DIR, data_root, load_images
from deblurcli.synth.degrade import LensField, degrade, sensor


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--modules", type=int, default=6)
    a = ap.parse_args()
    imgs = _images(None, True, 68, a.size) if a.size else load_images(data_root(), (VAL_DIR,))
    print(f"PSF width error per module (mean / worst cell), {a.modules} modules, sensor "
          f"{'%d px crops' % a.size if a.size else 'whole CBSD68 photos'}")
    means: dict[str, list[float]] = {"photo": [], "chart": []}
    for m in range(a.modules):
        rng = np.random.default_rng([7, 99, m])
        field = LensField.random(rng)
        photo = imgs[int(rng.integers(len(imgs)))]
        line = f"  module {m}:"
        for kind in ("photo", "chart"):
            sharp = photo if kind == "photo" else make_chart(*photo.shape[:2], seed=m)
            r = np.random.default_rng([7, m])
            blur = sensor(degrade(sharp, r, "lens", field).blurred, r, noise=0.01, jpeg_p=0.0)
            e = width_errors(estimate_field(sharp, blur), field)
            means[kind].append(float(e.mean()))
            line += f"  {kind} {e.mean():.2f} / {e.max():.2f}"
        print(line)
    print("  mean: " + ", ".join(f"{k} {np.mean(v):.3f}" for k, v in means.items()))


if __name__ == "__main__":
    main()
