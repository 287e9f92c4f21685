"""Which kernel confidence should send a photo to the blind net? Swept on TRAINING photos with our own
blur, never on the foreign validation sets (they only report the choice).

    python scripts/kernel_confidence_sweep.py --photos 16 --out docs/kernel_confidence_sweep.txt

Each photo (``train/bsds500test``, cropped to 480×320 like CBSD68) is blurred four ways: one shake of
the wide training distribution (``kernels.wide_kernel``) in sRGB and in linear light, a non-uniform
blur (a grid of shakes, ``degrade(kind="nonuniform")``, where one kernel is wrong by construction),
and none at all; then noise σ 0.01. For each: the estimate's confidence and ``is_shake``, and PSNR
(after the best shift) of the non-blind net with the estimated kernel and of the blind net. A
threshold t sends a photo to the kernel path when confidence ≥ t and the estimate is a shake; the
table gives the mean gain over the input for each t, per kind and over all.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
import json
from pathlib import Path

import numpy as np
import torch

from deblurcli.deconv.estimate import EstimateConfig, estimate
from deblurcli.deconv.pipeline import KernelDeconvolver
from deblurcli.engine.runner import Runner, RunConfig
from deblurcli.engine.tone import DEFAULT_SIGMA
from deblurcli.engine.unrolled import UnrolledRunner
from deblurcli.evaluation import aligned
from deblurcli.models.loader import load_model
from deblurcli.synth import kernels
from deblurcli.synth.data import LARGE_MIN_LENGTH, data_root, load_images
from deblurcli.synth.degrade import degrade, wide_blur

KINDS = ("shake-srgb", "shake-linear", "nonuniform", "sharp")


def cbsd_like(photo: np.ndarray) -> np.ndarray:
    """A training photo as a CBSD68-sized test case: landscape, its 480×320 top-left crop."""
    if photo.shape[0] > photo.shape[1]:
        photo = np.ascontiguousarray(photo.transpose(1, 0, 2))
    return photo[:320, :480].astype(np.float32)


def blurred(sharp: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """``sharp`` blurred as ``kind`` (one of ``KINDS``, or ``large-srgb``/``large-linear``: a shake of
    ``Mix.wide_large``'s long paths) with σ 0.01 noise, and the shake's kernel (None
    for the other kinds)."""
    k = None
    if kind == "sharp":
        y = sharp
    elif kind == "nonuniform":
        y = degrade(sharp, rng, "nonuniform").blurred
    else:
        k = kernels.wide_kernel(rng, min_length=LARGE_MIN_LENGTH if kind.startswith("large") else 5.0)
        y = wide_blur(sharp, k, rng, 2.2 if kind.endswith("linear") else 1.0, highlight_p=0.0)
    return np.clip(y + 0.01 * rng.standard_normal(y.shape).astype(np.float32), 0, 1).astype(np.float32), k


def cases(photos: list[np.ndarray], kinds: tuple[str, ...] | list[str] = KINDS,
          seed: int = 7) -> Iterator[tuple[int, str, np.ndarray, np.ndarray, np.ndarray | None]]:
    """(photo index, kind, sharp, blurred, kernel or None) for every photo × kind, in that order, from
    one generator seeded with ``seed``: the same seed, photos and kinds give the same cases (this
    sweep's seed is 7, the estimator sweep's 11)."""
    rng = np.random.default_rng(seed)
    for i, p in enumerate(photos):
        sharp = cbsd_like(p)
        for kind in kinds:
            y, k = blurred(sharp, kind, rng)
            yield i, kind, sharp, y, k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=16)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = RunConfig(device="cpu", precision="auto", tile=512, tone_sigma=DEFAULT_SIGMA)
    hqs, _ = load_model("hqs", "deconv")
    blind_net, _ = load_model(None, "deblur")
    blind = Runner(blind_net, RunConfig(device="cpu", precision="auto", tile=512, tone_sigma=DEFAULT_SIGMA, edge_pad=16))
    dec = KernelDeconvolver(UnrolledRunner(hqs, cfg), None, EstimateConfig())
    recs = []
    for i, kind, sharp, y, _ in cases(load_images(data_root(), ("train/bsds500test",))[: a.photos]):
        est = estimate(y)
        recs.append({"kind": kind, "confidence": est.confidence, "agreement": est.agreement, "shake": est.is_shake,
                     "input": aligned(y, sharp)[0], "kernel": aligned(dec.restore(y, est.kernel).rgb, sharp)[0],
                     "blind": aligned(blind.restore(y), sharp)[0]})
        if kind == KINDS[-1]:
            print(i, [(r["kind"], round(r["confidence"], 2), r["shake"], round(r["kernel"] - r["input"], 2),
                       round(r["blind"] - r["input"], 2)) for r in recs[-len(KINDS):]], flush=True)
    lines = ["| rule | " + " | ".join(KINDS) + " | all | sent to blind |", "|---|" + "---:|" * (len(KINDS) + 2)]
    # confidence: the two regions' kernels agree; agreement: the kernel used agrees with one of them
    for key in ("confidence", "agreement"):
        for t in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.01):
            def gain(r: dict) -> float:
                return (r["kernel"] if r["shake"] and r[key] >= t else r["blind"]) - r["input"]

            per = [np.mean([gain(r) for r in recs if r["kind"] == k]) for k in KINDS]
            blind_share = np.mean([not (r["shake"] and r[key] >= t) for r in recs])
            lines.append(f"| {key} ≥ {t:.2f} | " + " | ".join(f"{v:+.2f}" for v in per) + f" | {np.mean(per):+.2f} | {blind_share:.0%} |")
    text = "\n".join(lines)
    print(text)
    if a.out:
        a.out.write_text(f"$ python scripts/kernel_confidence_sweep.py {' '.join(__import__('sys').argv[1:])}\n\n"
                         f"Mean PSNR gain over the input (dB); 1.01 = always the blind net.\n\n{text}\n\n"
                         + json.dumps(recs) + "\n")


if __name__ == "__main__":
    main()
