"""How close the blind kernel estimate comes to the true kernel, on training photos (BSDS200, never the
benchmark kernels) shaken by our own wide kernel families: the normalised correlation after the best
shift within ±6 px (`deconv.estimate.similarity`), with σ noise and 8-bit quantisation.

    python scripts/kernel_trace_check.py --max-size 75 --noise 0.01 --out docs/kernel_trace_check.txt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from deblurcli.deconv.estimate import estimate, similarity
from deblurcli.synth import kernels
from deblurcli.synth.data import data_root, load_images
from deblurcli.synth.degrade import convolve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-size", type=int, default=75)
    ap.add_argument("--noise", type=float, default=0.01)
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    imgs = load_images(data_root(), ("train/bsds200",))[10 : 10 + a.count]
    rng = np.random.default_rng(3)
    sims = []
    for img in imgs:
        k = kernels.wide_kernel(rng, a.max_size)
        b = np.clip(convolve(img, k) + a.noise * rng.standard_normal(img.shape).astype(np.float32), 0, 1)
        est = estimate(np.round(b * 255) / 255)
        s = max(est.kernel.shape[0], k.shape[0]) | 1
        sims.append(similarity(kernels.canvas(est.kernel, s), kernels.canvas(k, s), 6))
    text = (f"{a.count} BSDS200 photos, wide kernels to {a.max_size} px, σ {a.noise}: correlation "
            f"{', '.join(f'{v:.2f}' for v in sims)}; mean {np.mean(sims):.2f}")
    print(text)
    if a.out:
        a.out.write_text(f"$ python scripts/kernel_trace_check.py {' '.join(__import__('sys').argv[1:])}\n\n{text}\n")


if __name__ == "__main__":
    main()
