"""Does torch.compile pay for inference? Eager vs compiled time of one tile, and what compiling costs.

    python scripts/compile_speed.py [--model dpa-compact] [--tile 1024] [--runs 5]

Compiles twice in fresh processes sharing one empty Inductor cache directory: the first compile is
cold, the second hits the on-disk graph cache (what a user's second run would pay). Each tile shape
the engine meets is compiled once (a 12 MP photo at the default tiling has up to 4 shapes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, statistics, sys, time, torch
from deblurcli.engine.allocator import keep_freed_memory
from deblurcli.engine.runner import Runner, RunConfig, _autocast
from deblurcli.models.loader import load_model
keep_freed_memory()
model_id, tile, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = Runner(load_model(model_id, "deblur")[0], RunConfig())
x = torch.rand(1, 3, tile, tile).contiguous(memory_format=torch.channels_last)
def times(m):
    out = []
    with torch.inference_mode(), _autocast(r.device, r.dtype):  # the engine's precision rule
        for _ in range(runs + 1):
            t = time.perf_counter(); m(x); out.append(time.perf_counter() - t)
    return out[1:]
eager = times(r.model)
t = time.perf_counter()
cm = torch.compile(r.model)
with torch.inference_mode(), _autocast(r.device, r.dtype):
    cm(x)
first = time.perf_counter() - t
compiled = times(cm)
eager += times(r.model)
print(json.dumps({"eager": statistics.median(eager), "compiled": statistics.median(compiled), "first": first}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="dpa-compact")
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache)
        res = []
        for _ in range(2):
            p = subprocess.run([sys.executable, "-c", CHILD, a.model, str(a.tile), str(a.runs)], env=env,
                               capture_output=True, text=True, check=True)
            res.append(json.loads(p.stdout.strip().splitlines()[-1]))
    eager = statistics.median([r["eager"] for r in res])
    comp = statistics.median([r["compiled"] for r in res])
    gain = eager - comp
    print(f"{a.model}, one {a.tile}×{a.tile} tile, median of {a.runs} runs per process, 2 processes:")
    print(f"  eager     {eager:.3f} s")
    print(f"  compiled  {comp:.3f} s  ({100 * (comp / eager - 1):+.0f}% time)")
    print(f"  compile + first run: cold cache {res[0]['first']:.1f} s, warm cache {res[1]['first']:.1f} s")
    if gain > 0:
        print(f"  pays back after {res[1]['first'] / gain:.0f} tiles of this shape (warm cache), "
              f"{res[0]['first'] / gain:.0f} (cold)")
    else:
        print("  never pays back: compiled is not faster")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"  ({time.perf_counter() - t0:.0f} s)")
