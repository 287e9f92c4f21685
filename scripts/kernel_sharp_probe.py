"""Does an estimator variant take already-sharp photos for shakes? On the confidence sweep's 24
already-sharp noisy training photos (the same seeds, ``kernel_confidence_sweep.blurred``), count the
estimates that `deblur --method kernel` would use (``KernelEstimate.ok``): each one is a sharp photo
deconvolved by a spurious kernel.

    python scripts/kernel_sharp_probe.py --variants base lamR8 lamR8-fine
"""

from __future__ import annotations

import argparse

import torch

from deblurcli.deconv.estimate import estimate
from deblurcli.synth.data import data_root, load_images
from kernel_confidence_sweep import cases  # scripts/ is on the path
from kernel_estimator_sweep import VARIANTS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=24)
    ap.add_argument("--variants", nargs="+", default=["base", "lamR8", "lamR8-fine"], choices=list(VARIANTS))
    a = ap.parse_args()
    torch.set_num_threads(1)
    used: dict[str, list[int]] = {v: [] for v in a.variants}
    for i, kind, _, y, _ in cases(load_images(data_root(), ("train/bsds500test",))[: a.photos]):  # the sweep's own
        if kind == "sharp":
            for v in a.variants:
                if estimate(y, VARIANTS[v]).ok:
                    used[v].append(i)
    for v, photos in used.items():
        print(f"{v}: {len(photos)} of {a.photos} already-sharp photos would be deconvolved {photos}")


if __name__ == "__main__":
    main()
