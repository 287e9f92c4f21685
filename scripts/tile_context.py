"""How much context a tile needs: each model restores motion-blurred validation photos (CBSD68, never
trained on) whole and in tiles with a fixed 160 px core and C px of context per side. Prints, per
context, PSNR of the tiled output against the whole-image output (seams), the largest difference
between them in 8-bit levels, and PSNR against the sharp photo (quality), and the compute per output pixel that context costs at the CPU default tile
(1024 px input). The arch's ``context_px`` (the engine's default context) is the smallest context here
that keeps every pixel within 2 8-bit levels of the whole-image output (the engine's 2/255 promise)
with unchanged PSNR; ``receptive_px`` is the conservative bound it replaced.

    python scripts/tile_context.py [--model dpa-compact ...] [--count 6] [--context 32 --context 64 ...]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

from deblurcli.engine.runner import Runner, RunConfig, default_context
from deblurcli.evaluation import degraded_sets, score, to_tensor
from deblurcli.hub.registry import load_registry
from deblurcli.metrics import psnr
from deblurcli.models.loader import load_entry
from deblurcli.synth.data import VAL_DIR, data_root, load_images

CORE = 160
CPU_TILE = 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", default=None)
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--context", action="append", type=int, default=None)
    a = ap.parse_args()
    torch.set_num_threads(2)
    reg = load_registry()
    ids = a.model or ["dpa-compact", "dpa-lite", "lcnet-compact", "mtwd-compact", "attgan-compact"]
    items = degraded_sets(load_images(data_root(), (VAL_DIR,))[: a.count], ("motion",), seed=5)["motion"]
    print(f"{len(items)} motion-blurred {VAL_DIR} photos, tiles with a {CORE} px core; PSNR in dB")
    for mid in ids:
        model, entry = load_entry(reg.get(mid))
        whole_runner = Runner(model, RunConfig(tile=None))
        whole = [whole_runner.restore(it["blur"]) for it in items]
        rf = default_context(model)
        q_whole = np.mean([score(w, it["sharp"])[0] for w, it in zip(whole, items)])
        print(f"\n{mid} (context_px {rf}, receptive_px {model.receptive_px}): whole image vs sharp {q_whole:.2f}")
        print(f"  {'context':>7}  {'tiled vs whole':>14}  {'max diff (8-bit)':>16}  {'tiled vs sharp':>14}  {'compute/px @1024':>16}")
        for c in sorted(set(a.context or [16, 32, 48, 64, 96]) | {rf, int(model.receptive_px)}):
            c_eff = math.ceil(c / model.multiple) * model.multiple
            r = Runner(model, RunConfig(tile=CORE + 2 * c_eff, context=c))
            tiled = [r.restore(it["blur"]) for it in items]
            seam = np.mean([psnr(to_tensor(t), to_tensor(w)).item() for t, w in zip(tiled, whole)])  # 100: identical
            worst = max(float(np.abs(t - w).max()) for t, w in zip(tiled, whole)) * 255
            q = np.mean([score(t, it["sharp"])[0] for t, it in zip(tiled, items)])
            core = max(CPU_TILE - 2 * c_eff, c_eff)
            print(f"  {c:>7}  {seam:>14.2f}  {worst:>16.2f}  {q:>14.2f}  {(CPU_TILE / core) ** 2:>15.2f}×" + ("  (default)" if c == rf else ""))


if __name__ == "__main__":
    main()
