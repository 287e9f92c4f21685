"""Peak activation memory per input pixel of one tile, per model: the number behind each arch's
``act_bytes_per_px``, which sizes the CPU default tile (``deblurcli.engine.setup.auto_tile``). Each
model and tile side runs in a fresh process (default precision and layout, glibc tuned as the CLI
tunes it); the figure is the growth of peak RSS over a 64 px warm-up tile, divided by the tile's pixels.

    python scripts/tile_memory.py [--model dpa-compact ...] [--tile 1024 --tile 2048]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

CHILD = """
import resource, sys
import numpy as np, torch
from deblurcli.engine.allocator import keep_freed_memory
keep_freed_memory()
from deblurcli.cli.photos import make_runner
from deblurcli.engine.runner import BlurMap
from deblurcli.hub.registry import load_registry
from deblurcli.models.loader import load_entry
torch.set_num_threads(2)
model, _ = load_entry(load_registry().get(sys.argv[1]))
s = int(sys.argv[2])
runner = make_runner(model, "auto", "auto", "none", None, 1)
def run(n):
    img = np.random.default_rng(0).random((n, n, 3), dtype=np.float32)
    cond = BlurMap(np.full((n, n), 2.0, np.float32)) if getattr(model, "cond", None) == "blur_map" else None
    runner.restore(img, cond)
    return img
run(64)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
img = np.random.default_rng(0).random((s, s, 3), dtype=np.float32)  # the input and output buffers are
buffers = 2 * img.nbytes                                            # whole-image memory, not the tile's
del img
run(s)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(round((peak - base - buffers) / (s * s)))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", default=None)
    ap.add_argument("--tile", action="append", type=int, default=None)
    a = ap.parse_args()
    ids = a.model or ["dpa-compact", "dpa-lite", "lcnet-compact", "mtwd-compact", "attgan-compact", "svbr-compact"]
    tiles = a.tile or [1024, 2048]
    print(f"peak activation bytes per input pixel, tiles {tiles} (act_bytes_per_px: the largest, rounded up):")
    for mid in ids:
        vals = [int(subprocess.run([sys.executable, "-c", CHILD, mid, str(t)], capture_output=True, text=True,
                                   check=True).stdout.split()[-1]) for t in tiles]
        print(f"  {mid:16s} " + "  ".join(f"{t}: {v:4d}" for t, v in zip(tiles, vals)))


if __name__ == "__main__":
    main()
