"""Training speed: seconds per step for an arch under different settings (bf16 vs fp32, channels_last,
torch.compile, crop and batch), and the time spent generating data (one core, as the training worker).

    python scripts/train_speed.py --arch dpa --steps 8
"""

from __future__ import annotations

import argparse
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from deblurcli import archs
from deblurcli.synth.data import data_root
from deblurcli.training.batches import BatchStream
from deblurcli.training.config import TrainConfig
from deblurcli.training.steps import STEPS


def measure(arch: str, steps: int, batch: int, crop: int, bf16: bool, cl: bool, compile_: bool) -> tuple[float, float, float]:
    cfg = TrainConfig(id="speed", arch=arch, batch=batch, crop=crop, workers=0)
    stream = BatchStream(cfg, data_root(), 0)
    t = time.perf_counter()
    batches = [stream.batch(i) for i in range(steps + 2)]
    data_s = (time.perf_counter() - t) / (steps + 2)
    model = archs.build(arch)
    if cl:
        model = model.to(memory_format=torch.channels_last)
        batches = [{k: v.contiguous(memory_format=torch.channels_last) if v.ndim == 4 else v for k, v in b.items()} for b in batches]
    fn = STEPS[arch]
    if compile_:
        # The step functions call sub-networks and methods other than forward (DPE, DPA,
        # forward_levels), which a torch.compile wrapper of the whole model would leave eager:
        # compile each child module in place instead (state_dict keys unchanged).
        for child in model.children():
            child.compile()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if bf16 else nullcontext
    times = []
    for i, b in enumerate(batches):
        t = time.perf_counter()
        with ctx():
            loss = fn(model, b, i, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return float(np.median(times[2:])), data_s, sum(times[:2])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="dpa")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--compile", action="store_true", help="also try torch.compile (slow to start)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    rows = [("bf16 + channels_last, 8×128²", 8, 128, True, True, False),
            ("fp32 + channels_last, 8×128²", 8, 128, False, True, False),
            ("bf16, contiguous, 8×128²", 8, 128, True, False, False),
            ("bf16 + channels_last, 4×192²", 4, 192, True, True, False),
            ("bf16 + channels_last, 16×96²", 16, 96, True, True, False)]
    if a.compile:  # eager and compiled twice each, alternated: this machine's speed drifts ±15%
        rows += [("bf16 + channels_last + torch.compile, 8×128²", 8, 128, True, True, True),
                 ("bf16 + channels_last (again), 8×128²", 8, 128, True, True, False),
                 ("bf16 + channels_last + torch.compile (again), 8×128²", 8, 128, True, True, True)]
    print(f"| {a.arch}: setting | s/step (compute) | first 2 steps s | data s/batch (1 core) | px/s (compute) |")
    print("|---|---:|---:|---:|---:|")
    for label, b, c, bf16, cl, comp in rows:
        s, d, first = measure(a.arch, a.steps, b, c, bf16, cl, comp)
        print(f"| {label} | {s:.3f} | {first:.1f} | {d:.3f} | {b * c * c / s / 1e3:.0f} k |", flush=True)


if __name__ == "__main__":
    main()
