"""#5 experiment: the calibration table's adapted row under other adaptation settings (learning rate,
steps, batch, noise), on the same simulated modules as `deblur bench --calibration --val --count 24`.

    python scripts/adapt_sweep.py --model dpa-lite --chart --lr 3e-4 --steps 200
    python scripts/adapt_sweep.py --model dpa-compact --chart --steps 1500 --device cuda --workers 12

Prints the table's rows (PSNR dB / SSIM) and the settings; the product default is ``AdaptConfig()``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from deblurcli import evaluation as ev
from deblurcli.calibration.adapt import AdaptConfig, load_photos
from deblurcli.models.loader import registered
from deblurcli.cli.bench_quality import _images
from deblurcli.engine.runner import RunConfig
from deblurcli.synth.data import data_root


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="dpa-compact")
    ap.add_argument("--chart", action="store_true", help="calibrate with a chart instead of a photo")
    for f in dataclasses.fields(AdaptConfig):
        kind = float if f.name == "noise" else type(f.default)  # noise: None = measured per module
        ap.add_argument("--" + f.name.replace("_", "-"), type=kind, default=f.default)
    ap.add_argument("--device", default="cpu", help="where the net adapts and restores (cpu, cuda, auto)")
    ap.add_argument("--adapt-images", type=Path, default=None,
                    help="folder of sharp source photos, subfolders included (default: the data's train/bsds200)")
    ap.add_argument("--workers", type=int, default=0, help="processes making the training pairs (0: the reference sequence)")
    a = ap.parse_args()
    cfg = AdaptConfig(**{f.name: getattr(a, f.name) for f in dataclasses.fields(AdaptConfig)})
    model = registered([a.model])[a.model][0]
    photos = load_photos(a.adapt_images or data_root() / "train" / "bsds200", cfg)[0]
    mods = ev.lens_modules(_images(None, True, 24), modules=6, photos=3, seed=7, chart=a.chart)
    t = time.perf_counter()
    table = ev.calibration(model, mods, RunConfig(tile=512, device=a.device), (cfg, photos), adapt_workers=a.workers)
    where = f"{a.device}, {a.workers} workers, " if a.device != "cpu" or a.workers else ""
    where += f"{len(photos)} photos from {a.adapt_images}, " if a.adapt_images else ""
    print(f"{a.model}, {'chart' if a.chart else 'photo'} pairs, {cfg.describe()}, {where}{time.perf_counter() - t:.0f} s")
    for method, row in table.rows.items():
        p, s = row["lens modules"]
        print(f"  {method:40s} {p:.2f} / {s:.3f}")


if __name__ == "__main__":
    main()
