"""Does re-reading the kernel from the non-blind net's own result help `--method kernel`?

    python scripts/kernel_refine_probe.py --count 6 --out docs/kernel_refine_probe.txt

For each photo of the foreign sets: the blind L0 estimate k0 (``deconv.estimate``); the net's result
x0 with k0; then a kernel step on x0's gradients (``estimate.kernel_step``, the latent image now the
net's, not the L0 image), either all of them or only the strongest ``--keep`` share (Cho & Lee 2009
keep only the salient edges), cleaned as the estimator cleans; and the net again with that kernel.
Reported: PSNR after the best shift (as every method is scored), and the kernels' similarity to the
true kernel (``estimate.similarity``). A diagnostic: nothing here is shipped until it is measured.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch

from deblurcli.deconv.estimate import EstimateConfig, _clean, estimate, kernel_step, similarity
from deblurcli.deconv.pipeline import KernelDeconvolver
from deblurcli.deconv.psf import to_canvas
from deblurcli.engine.runner import RunConfig
from deblurcli.engine.tone import DEFAULT_SIGMA
from deblurcli.engine.unrolled import UnrolledRunner
from deblurcli.evaluation import aligned
from deblurcli.models.loader import load_model
from deblurcli.synth import foreign


def refine(x: np.ndarray, y: np.ndarray, k: np.ndarray, cfg: EstimateConfig, keep: float) -> np.ndarray:
    """One kernel step with the latent image ``x`` (grey), ``y`` the blurry grey photo."""
    s = k.shape[0]
    pad = s
    xs = cv2.copyMakeBorder(x, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    ys = cv2.copyMakeBorder(y, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    m = pad + s // 2 + 1
    mask = np.zeros(ys.shape, np.float32)
    mask[m:-m, m:-m] = 1
    if keep < 1:
        gx, gy = np.roll(xs, -1, 1) - xs, np.roll(xs, -1, 0) - xs
        mag = np.sqrt(gx**2 + gy**2) * mask
        thr = np.quantile(mag[mask > 0], 1 - keep)
        xs = xs.copy()
        edges = (mag >= thr).astype(np.float32)
        # keep the latent's strong edges only: flatten the rest by blending with a smoothed copy
        smooth = cv2.GaussianBlur(xs, (0, 0), 2.0)
        w = cv2.dilate(edges, np.ones((3, 3), np.uint8))
        xs = w * xs + (1 - w) * smooth
    return _clean(kernel_step(xs, ys, s, cfg.gamma, mask), cfg.cut)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=["foreign-motion-srgb", "foreign-large"])
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--keep", type=float, nargs="+", default=[1.0, 0.1, 0.03])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    torch.set_num_threads(2)
    net, _ = load_model("hqs", "deconv")
    cfg = EstimateConfig()
    dec = KernelDeconvolver(UnrolledRunner(net, RunConfig(device="cpu", precision="auto", tile=512, tone_sigma=DEFAULT_SIGMA)),
                            None, cfg)
    report: dict[str, dict[str, list[float]]] = {}
    for s in a.sets:
        rows: dict[str, list[float]] = {}

        def add(name: str, v: float) -> None:
            rows.setdefault(name, []).append(v)

        for it in foreign.build(s, count=a.count):
            y = it["blur"]
            add("input psnr", aligned(y, it["sharp"])[0])
            add("true psnr", aligned(dec.restore(y, it["kernel"]).rgb, it["sharp"])[0])
            est = estimate(y, cfg)
            k0 = est.kernel
            add("k0 psnr", aligned(dec.restore(y, k0).rgb, it["sharp"])[0])
            add("k0 sim", similarity(to_canvas(k0, 75), to_canvas(it["kernel"], 75)))
            add("k0 ok", float(est.ok))
            g = y.mean(-1).astype(np.float32)
            for keep in a.keep:
                k = k0
                for r in range(a.rounds):
                    x = dec.restore(y, k).rgb.mean(-1).astype(np.float32)
                    k = refine(x, g, k, cfg, keep)
                    add(f"keep {keep} round {r + 1} sim", similarity(to_canvas(k, 75), to_canvas(it["kernel"], 75)))
                    add(f"keep {keep} round {r + 1} psnr", aligned(dec.restore(y, k).rgb, it["sharp"])[0])
            print(s, {k: round(float(np.mean(v)), 3) for k, v in rows.items()}, flush=True)
        report[s] = {k: [float(np.mean(v)), len(v)] for k, v in rows.items()}
    text = json.dumps(report, indent=1)
    print(text)
    if a.out:
        a.out.write_text(f"$ python scripts/kernel_refine_probe.py {' '.join(__import__('sys').argv[1:])}\n{text}\n")


if __name__ == "__main__":
    main()
