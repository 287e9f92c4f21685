"""#7 on a GPU: where `deblur bench`'s end-to-end time goes for one 1280x720 image — the net alone with
its input already on the device (eager, and replayed as a CUDA graph), the host↔device copies, and the
whole `Runner.restore` (eager and with ``RunConfig.cuda_graph``). Median of CUDA-event timings.

    python scripts/gpu_breakdown.py --model dpa-compact --model lcnet-compact
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from deblurcli.models.loader import registered
from deblurcli.engine.runner import Runner, RunConfig, _autocast, _Graph


def _ms(fn, runs: int, events: bool = True) -> float:  # type: ignore[no-untyped-def]
    """Median ms of ``fn`` after 3 warm-ups: by CUDA events (GPU time), or wall clock between
    synchronisations (``events=False``: host work included)."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(runs):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        t = time.perf_counter()
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) if events else (time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", default=None)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    dev = torch.device("cuda")
    img = np.random.default_rng(0).random((h, w, 3), dtype=np.float32)
    host = torch.from_numpy(img).permute(2, 0, 1)[None]
    out: dict[str, dict[str, float]] = {}
    for mid, (model, _) in registered(a.model or ["dpa-compact", "lcnet-compact"]).items():
        r: dict[str, float] = {}
        for prec in ("bf16", "fp16"):
            runner = Runner(model, RunConfig(device="cuda", precision=prec, tile=None))  # type: ignore[arg-type]
            m = runner.multiple
            x = torch.zeros(1, 3, -(-h // m) * m, -(-w // m) * m, device=dev).contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                def eager() -> torch.Tensor:
                    with _autocast(dev, runner.dtype):
                        return runner.model(x)
                r[f"net {prec} eager ms"] = _ms(eager, a.runs)
                try:
                    g = _Graph(runner.model, x, {}, dev, runner.dtype)
                    r[f"net {prec} graph ms"] = _ms(lambda: g(x, {}), a.runs)
                    ref = eager().float()
                    r[f"graph vs eager max diff {prec}"] = float((g(x, {}).float() - ref).abs().max())
                except RuntimeError as e:
                    print(mid, prec, "graph failed:", e)
            r[f"restore {prec} eager ms"] = _ms(lambda: runner.restore(img), a.runs, events=False)
            gr = runner.with_config(cuda_graph=True)
            r[f"restore {prec} graph ms"] = _ms(lambda: gr.restore(img), a.runs, events=False)
        r["upload float32 ms"] = _ms(lambda: host.to(dev), a.runs, events=False)
        pinned = host.pin_memory()
        r["upload float32 pinned ms"] = _ms(lambda: pinned.to(dev, non_blocking=True), a.runs, events=False)
        y = torch.zeros_like(host, device=dev)
        r["download float32 ms"] = _ms(lambda: y.cpu(), a.runs, events=False)
        out[mid] = r
        for k, v in r.items():
            print(f"{mid:14s} {k:32s} {v:8.3f}")
    print(json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "size": a.size, "results": out}))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "size": a.size, "results": out}, f, indent=2)


if __name__ == "__main__":
    main()
