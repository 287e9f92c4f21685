"""Which settings of the blind kernel estimator read kernels best? Swept on TRAINING photos with our own
blur, never on the foreign validation sets (they only report the choice).

    python scripts/kernel_estimator_sweep.py --photos 12 --variants base inner8 lam4 --out docs/kernel_estimator_sweep.txt

Each photo (``train/bsds500test``, a 480×320 crop like CBSD68, other photos than the confidence sweep's)
is blurred by one kernel of the wide training distribution in sRGB and one in linear light, σ 0.01.
Per variant of ``EstimateConfig``: the estimate's normalised correlation with the true kernel
(``similarity``), its confidence, and the PSNR gain of the non-blind net given the estimate (always, as a
diagnostic) against the gain given the true kernel.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from deblurcli.deconv.estimate import EstimateConfig, estimate, similarity
from deblurcli.deconv.pipeline import KernelDeconvolver
from deblurcli.deconv.psf import to_canvas
from deblurcli.engine.runner import RunConfig
from deblurcli.engine.tone import DEFAULT_SIGMA
from deblurcli.engine.unrolled import UnrolledRunner
from deblurcli.errors import KernelMismatchError
from deblurcli.evaluation import aligned
from deblurcli.models.loader import load_model
from deblurcli.synth.data import data_root, load_images
from kernel_confidence_sweep import cases as test_cases  # the same kind of test cases (scripts/ is on the path)

BASE = EstimateConfig()  # the shipped settings
# The variants of removed options (k_iters/l1, linear, edge_keep, lam_radius) ran at commit cc4f1e1, the
# dark-channel ones (dark) at cba2878.
VARIANTS: dict[str, EstimateConfig] = {
    "base": BASE,
    "inner8": replace(BASE, inner=8),
    "lam1": replace(BASE, lam=1e-3),
    "lam4": replace(BASE, lam=4e-3),
    "gamma100": replace(BASE, gamma=100.0),
    "gamma400": replace(BASE, gamma=400.0),
    "cut05": replace(BASE, cut=0.05),
    "cut15": replace(BASE, cut=0.15),
    "lam1-inner8": replace(BASE, lam=1e-3, inner=8),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=12)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--kinds", nargs="+", default=["shake-srgb", "shake-linear"],
                    choices=["shake-srgb", "shake-linear", "large-srgb", "large-linear"],
                    help="the blur of each photo (large-*: paths of 30 px or more, Mix.wide_large)")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    hqs, _ = load_model("hqs", "deconv")
    dec = KernelDeconvolver(UnrolledRunner(hqs, RunConfig(device="cpu", precision="auto", tile=512, tone_sigma=DEFAULT_SIGMA)))
    photos = load_images(data_root(), ("train/bsds500test",))[-a.photos :]  # the confidence sweep took the first
    cases = []
    for _, _, sharp, y, k in test_cases(photos, a.kinds, seed=11):
        base = aligned(y, sharp)[0]
        cases.append({"sharp": sharp, "blur": y, "kernel": k, "input": base,
                      "true": aligned(dec.restore(y, k).rgb, sharp)[0] - base})
    rows, recs = [], []
    for name in a.variants:
        cfg = VARIANTS[name]
        sims, gains, confs, oks, secs = [], [], [], [], []
        for c in cases:
            t0 = time.perf_counter()
            est = estimate(c["blur"], cfg)
            secs.append(time.perf_counter() - t0)
            sims.append(similarity(to_canvas(c["kernel"], 75), to_canvas(est.kernel, 75)))
            try:
                gains.append(aligned(dec.restore(c["blur"], est.kernel).rgb, c["sharp"])[0] - c["input"])
            except KernelMismatchError:  # the result does not blur back to the photo: deblur would refuse it
                gains.append(0.0)
            confs.append(est.confidence)
            oks.append(est.ok)
        used = [g if ok else 0.0 for g, ok in zip(gains, oks)]  # refused: about what the blind net gains, ~0
        rows.append(f"| {name} | {np.mean(sims):.3f} | {np.mean(gains):+.2f} | {np.mean(used):+.2f} | {np.mean(oks):.0%} "
                    f"| {np.mean(secs):.1f} |")
        recs.append({"variant": name, "similarity": sims, "gain": gains, "confidence": confs, "ok": oks})
        print(rows[-1], flush=True)
    true = np.mean([c["true"] for c in cases])
    text = "\n".join([f"{len(cases)} blurred training photos ({', '.join(a.kinds)}); hqs given the TRUE kernel gains {true:+.2f} dB.", "",
                      "| variant | similarity to the true kernel | gain, estimate always used | gain, refused = 0 | used | s per photo |",
                      "|---|---:|---:|---:|---:|---:|", *rows])
    print(text)
    if a.out:
        a.out.write_text(f"$ python scripts/kernel_estimator_sweep.py {' '.join(__import__('sys').argv[1:])}\n\n{text}\n\n"
                         + json.dumps(recs) + "\n")


if __name__ == "__main__":
    main()
