"""A bank of (true kernel, blind estimate) pairs from TRAINING photos, for training the non-blind net on
the errors our own estimator makes (`deblur --method kernel` gives hqs an estimate, never the truth).

    python scripts/kernel_error_bank.py --minutes 50            # appends to ~/.cache/deblurcli/kernel_bank.npz

Each entry: a 3:2 training photo crop (480 or 640 px wide) (``train/``: BSDS, Urban100, Sun-Hays, DIV2K; never CBSD68 or
``kernels/``) blurred as the wide training distribution blurs it (``synth.data.PairSampler``, kind
``wide``: kernel families to 75 px, sRGB / linear / tone-curve domains, noise, JPEG), then
``deconv.estimate.estimate`` run on it as `deblur` runs it. Stored on the net's 75 px canvas with the
estimate's confidence and whether `deblur` would use it (``ok``). Resumable: it appends, and the seed of
entry i is i, so a bank is the same whoever builds it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from deblurcli.deconv.estimate import EstimateConfig, estimate, similarity
from deblurcli.synth import kernels
from deblurcli.synth.data import Mix, PairSampler, cache_dir, data_root, load_images

CANVAS = 75
DIRS = ("train/bsds200", "train/bsds500test", "train/urban100", "train/sunhays80", "train/div2k6")


def load(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {"true": np.zeros((0, CANVAS, CANVAS), np.float32), "est": np.zeros((0, CANVAS, CANVAS), np.float32),
                "confidence": np.zeros(0, np.float32), "ok": np.zeros(0, bool), "similarity": np.zeros(0, np.float32)}
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=cache_dir() / "kernel_bank.npz")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--count", type=int, default=100000, help="stop at this many entries")
    a = ap.parse_args()
    cv2.setNumThreads(1)
    bank = load(a.out)
    images = load_images(data_root(), DIRS)
    sampler = PairSampler(images, None, Mix(motion=0, nonuniform=0, lens=0, defocus=0, gaussian=0, sharp=0,
                                            frames=0, wide=1), dead_leaves_p=0.0)
    t_end = time.time() + a.minutes * 60
    new: dict[str, list] = {k: [] for k in bank}
    i = len(bank["ok"])

    def save() -> None:
        merged = {k: np.concatenate([bank[k], np.asarray(new[k], bank[k].dtype).reshape(-1, *bank[k].shape[1:])])
                  for k in bank}
        a.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = a.out.with_suffix(".part.npz")
        np.savez_compressed(tmp, **merged)
        tmp.replace(a.out)
        ok = merged["ok"]
        print(f"{len(ok)} entries, {int(ok.sum())} used by deblur; similarity of the used "
              f"{float(merged['similarity'][ok].mean()) if ok.any() else 0:.2f}", flush=True)

    while time.time() < t_end and i < a.count:
        rng = np.random.default_rng([i, 2026])
        w = 480 if rng.random() < 0.7 else 640  # CBSD68's 481×321, or a little larger; 3:2 like a photo
        s = sampler.sample(rng, w)
        est = estimate(s["blur"][: w * 2 // 3], EstimateConfig())
        kt = kernels.canvas(s["kernel"], CANVAS)
        ke = kernels.canvas(est.kernel, CANVAS)
        for k, v in (("true", kt), ("est", ke), ("confidence", est.confidence), ("ok", est.ok),
                     ("similarity", similarity(kt, ke))):
            new[k].append(v)
        i += 1
        if len(new["ok"]) % 20 == 0:
            save()
    save()


if __name__ == "__main__":
    main()
