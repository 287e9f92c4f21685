"""Timing on the user's hardware: warm-up, synchronised timing, median and spread, peak memory,
achieved GFLOP/s against the device's measured matmul peak."""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .engine.runner import Runner


def machine() -> dict[str, object]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    d: dict[str, object] = {"cpu": cpu, "cores": os.cpu_count(), "threads": torch.get_num_threads(),
                            "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform()}
    if torch.cuda.is_available():
        d["cuda_device"] = torch.cuda.get_device_name(0)
    return d


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:
        try:  # Linux: writing 5 resets the peak resident set size (VmHWM)
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass


def peak_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def matmul_peak(device: torch.device, dtype: torch.dtype, n: int = 2048, runs: int = 5) -> float:
    """GFLOP/s of a large square matmul on ``device`` in ``dtype`` (best of ``runs``)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = float("inf")
    with torch.inference_mode():
        torch.mm(a, b)
        for _ in range(runs):
            sync(device)
            t = time.perf_counter()
            torch.mm(a, b)
            sync(device)
            best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


@dataclass
class Timing:
    model: str
    size: str
    precision: str
    tile: int | None
    ms_median: float
    ms_spread: float  # interquartile range
    mp_per_s: float
    s_per_mp: float
    peak_mb: float
    params: int
    gflop_per_mp: float
    gflops: float
    peak_share: float | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def time_model(name: str, runner: Runner, size: tuple[int, int], runs: int, warmup: int, gflop_per_mp: float,
               params: int, peak_gflops: float | None, cond=None) -> Timing:  # type: ignore[no-untyped-def]
    w, h = size
    rng = np.random.default_rng(0)
    img = rng.random((h, w, 3), dtype=np.float32)
    for _ in range(warmup):
        runner.restore(img, cond(h, w) if cond else None)
    times = []
    reset_peak(runner.device)
    for _ in range(runs):
        sync(runner.device)
        t = time.perf_counter()
        runner.restore(img, cond(h, w) if cond else None)
        sync(runner.device)
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    q = np.percentile(times, [25, 75]) if len(times) > 1 else (med, med)
    mp = w * h / 1e6
    gflops = gflop_per_mp * mp / med
    return Timing(name, f"{w}x{h}", str(runner.dtype).replace("torch.", ""), runner.cfg.tile, med * 1e3, float(q[1] - q[0]) * 1e3,
                  mp / med, med / mp, peak_bytes(runner.device) / 2**20, params, gflop_per_mp, gflops,
                  gflops / peak_gflops if peak_gflops else None)
