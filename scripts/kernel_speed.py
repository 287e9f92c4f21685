"""Speed of `--method kernel` on a 12 MP photo on this machine (the kernel-estimation issue's bars:
kernel estimation ≤ 15 s; the non-blind net within 2× the default model's time per megapixel).

    python scripts/kernel_speed.py --out docs/kernel_speed.txt

The photo is a training photo enlarged to 4000×3000 and shaken by a 31 px kernel (what is timed does
not depend on the content). Each timing is the best of ``--repeat`` runs, the two models alternated.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from deblurcli.deconv.estimate import estimate
from deblurcli.engine.kernel import KernelField
from deblurcli.engine.setup import make_runner
from deblurcli.models.loader import load_model
from deblurcli.synth import kernels
from deblurcli.synth.data import data_root, load_images
from deblurcli.synth.degrade import convolve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    torch.set_num_threads(2)
    src = load_images(data_root(), ("train/div2k6",))[0]
    img = cv2.resize(src, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    k = kernels.motion_kernel(np.random.default_rng(0), 31, length=24.0)
    blur = np.clip(convolve(img, k), 0, 1).astype(np.float32)
    mp = blur.shape[0] * blur.shape[1] / 1e6
    hqs, _ = load_model("hqs", "deconv")
    dpa, _ = load_model("dpa-lite", "deblur")
    r_hqs, r_dpa = make_runner(hqs), make_runner(dpa)
    cond = KernelField.uniform(kernels.canvas(k, hqs.cfg.canvas), 0.01)
    times: dict[str, list[float]] = {"kernel estimation": [], "hqs (non-blind net)": [], "dpa-lite (blind default)": []}
    for _ in range(a.repeat):
        t = time.perf_counter()
        est = estimate(blur)
        times["kernel estimation"].append(time.perf_counter() - t)
        t = time.perf_counter()
        r_hqs.restore(blur, cond)
        times["hqs (non-blind net)"].append(time.perf_counter() - t)
        t = time.perf_counter()
        r_dpa.restore(blur)
        times["dpa-lite (blind default)"].append(time.perf_counter() - t)
    best = {n: min(v) for n, v in times.items()}
    lines = [f"12 MP ({blur.shape[1]}×{blur.shape[0]}), 2 threads, best of {a.repeat}; estimate confidence {est.confidence:.2f}",
             "| step | seconds | s per MP |", "|---|---:|---:|"]
    lines += [f"| {n} | {s:.1f} | {s / mp:.2f} |" for n, s in best.items()]
    ratio = best["hqs (non-blind net)"] / best["dpa-lite (blind default)"]
    lines.append(f"\nnon-blind net / default model, time per MP: {ratio:.2f}×")
    text = "\n".join(lines)
    print(text)
    if a.out:
        a.out.write_text(f"$ python scripts/kernel_speed.py {' '.join(__import__('sys').argv[1:])}\n\n{text}\n")


if __name__ == "__main__":
    main()
