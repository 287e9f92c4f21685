"""Timing tables for `deblur bench`."""

from __future__ import annotations

from pathlib import Path

import torch
from rich.table import Table

from ..archs import ARCHS
from ..benchmark import machine, matmul_peak, time_model
from ..engine.runner import pick_device
from ..metrics_model import model_stats
from .common import console, emit_json
from .photos import make_runner


def _cond(arch: str, model):  # type: ignore[no-untyped-def]
    if ARCHS[arch].takes_blur_map:
        import numpy as np

        from ..engine.runner import BlurMap

        return lambda h, w: BlurMap(np.full((h, w), 2.0, np.float32))
    if ARCHS[arch].takes_kernel:  # the FFTs cost the same for any kernel; a delta keeps random input in range
        from ..engine.kernel import KernelField
        from ..synth.kernels import delta

        return lambda h, w: KernelField.uniform(delta(model.cfg.canvas), 0.01)
    return None


def run_timing(ids: list[str], sizes: list[tuple[int, int]], device: str, precisions: list[str], tile: str, runs: int,
               warmup: int, json_file: Path | None, recommend: bool, arch_names: list[str], cuda_graph: bool = False,
               as_json: bool = False) -> None:
    from ..models.loader import registered, untrained

    models = untrained(arch_names) if arch_names else registered(ids)
    dev = pick_device(device)
    peaks = {str(dt).replace("torch.", ""): matmul_peak(dev, dt) for dt in (torch.float32, torch.bfloat16)}
    results = []
    # "auto" is the rule `deblur` itself uses (engine.setup.auto_tile), so bench times what users get.
    tiles = ["256", "512", "768", "1024", "1536", "2048", "auto", "none"] if recommend else [tile]
    precs = ["fp32", "bf16"] if recommend else precisions
    with console.status("timing …") as status:
        for mid, (model, arch) in models.items():
            stats = model_stats(model, arch)  # type: ignore[arg-type]
            for prec in precs:
                for tl in tiles:
                    runner = make_runner(model, str(dev), prec, tl, None, 1, cuda_graph)
                    for size in sizes:
                        status.update(f"{mid} {size[0]}x{size[1]} {prec} tile {tl}")
                        r = time_model(mid, runner, size, runs, warmup, stats["gflop_per_mp"], int(stats["params"]),
                                       peaks.get(str(runner.dtype).replace("torch.", "")), _cond(arch, model))
                        results.append(r)
    graphs = "; CUDA graphs" if cuda_graph and dev.type == "cuda" else ""
    box = machine()
    where = box.get("cuda_device", "") if dev.type == "cuda" else box["cpu"]
    table = Table(title=f"deblur bench — {where} ({dev}{graphs}); matmul peak: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peaks.items()))
    for col in ("model", "size", "prec", "tile", "ms (median ± IQR)", "MP/s", "s/MP", "peak MB", "params", "GFLOP/MP", "GFLOP/s", "% peak"):
        table.add_column(col, justify="right" if col not in ("model", "size", "prec") else "left")
    for r in results:
        table.add_row(r.model, r.size, r.precision, str(r.tile), f"{r.ms_median:.0f} ± {r.ms_spread:.0f}", f"{r.mp_per_s:.2f}",
                      f"{r.s_per_mp:.3f}", f"{r.peak_mb:.0f}", f"{r.params / 1e6:.2f} M", f"{r.gflop_per_mp:.0f}",
                      f"{r.gflops:.0f}", f"{100 * r.peak_share:.0f}%" if r.peak_share else "—")
    console.print(table)
    if recommend:
        for mid in models:
            best = min((r for r in results if r.model == mid), key=lambda r: r.s_per_mp)
            console.print(f"[green]recommended[/] for {mid}: --precision {best.precision} --tile {best.tile or 'none'} "
                          f"({best.s_per_mp:.3f} s/MP, peak {best.peak_mb:.0f} MB)")
    emit_json({"machine": box | {"device": str(dev)}, "cuda_graph": bool(graphs), "matmul_peak_gflops": peaks,
               "results": [r.as_dict() for r in results]}, as_json, json_file)

