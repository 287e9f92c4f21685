"""The tone guard's σ, measured on the foreign sets (and our own sharp set: no harm) for a model.

    python scripts/tone_guard_sweep.py --model dpa-lite --sigma 0 --sigma 16 --sigma 32 --sigma 64

Each network output is computed once and guarded at every σ; scores after the best shift within
±10 px, with the mean-level shift (1/255). Picks nothing by itself: the table goes to docs/.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from deblurcli import evaluation as ev
from deblurcli.models.loader import registered
from deblurcli.engine.runner import Runner, RunConfig
from deblurcli.engine.tone import keep_tone


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("--weights", help="a safetensors file instead of --model")
    ap.add_argument("--sigma", action="append", type=float, default=[])
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    sigmas = a.sigma or [0.0, 16.0, 32.0, 64.0]
    if a.weights:
        from pathlib import Path

        from deblurcli.models.store import load

        models = {Path(a.weights).stem: (load(Path(a.weights))[0], "dpa")}
    else:
        models = registered(a.model or ["dpa-lite"])
    sets = ev.foreign_sets(12)
    for mid, (model, _) in models.items():
        runner = Runner(model, RunConfig(device="cpu", precision="auto", tile=512))
        print(f"{mid}: PSNR gain over the input (level shift 1/255) per σ")
        print("| set | input | " + " | ".join(f"σ {s:g}" for s in sigmas) + " |")
        for name, items in sets.items():
            base = np.mean([ev.aligned(it["blur"], it["sharp"]) for it in items], 0)
            cells = []
            outs = [runner.restore(it["blur"]) for it in items]
            for s in sigmas:
                r = np.mean([ev.aligned(keep_tone(o.copy(), it["blur"], s), it["sharp"]) for o, it in zip(outs, items)], 0)
                cells.append(f"{r[0] - base[0]:+.2f} ({r[2]:+.1f})")
            print(f"| {name} | {base[0]:.2f} ({base[2]:+.1f}) | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
