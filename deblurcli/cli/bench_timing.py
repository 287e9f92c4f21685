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



def _median_s(fn, runs: int):  # type: ignore[no-untyped-def]
    """The median wall time of ``runs`` calls of ``fn`` and the last call's result."""
    import statistics
    import time

    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def run_route_timing(sizes: list[tuple[int, int]], device: str, runs: int, json_file: Path | None, as_json: bool) -> None:
    """`deblur bench --routes`: what `--method auto` costs on a photo of each size, step by step: the
    diagnosis (the defocus map and the shake-kernel estimate), each route's restoration, and each route
    end to end against the blind net. The photo is a procedural scene shaken by a 15 px line, so every
    route does its full work (each route is timed on it, whatever the diagnosis)."""
    import numpy as np

    from ..api import as_photo, load
    from ..deconv.estimate import estimate
    from ..route import diagnose, features
    from ..synth.degrade import convolve
    from ..synth.kernels import line_kernel
    from ..synth.scenes import scene

    auto = load(method="auto", device=device)
    rows: list[dict[str, object]] = []
    with console.status("timing the routes …") as status:
        small = np.clip(convolve(scene(1, 256, 256), line_kernel(15, 0.5)), 0, 1).astype(np.float32)
        auto.restore_photo(as_photo(small)[0])  # warm-up: every network's first call, at a small size
        for w, h in sizes:
            rgb = np.clip(convolve(scene(0, h, w), line_kernel(15, 0.5)), 0, 1).astype(np.float32)
            photo = as_photo(rgb)[0]
            status.update(f"{w}x{h}: diagnosis")
            t_map, radius = _median_s(lambda: auto.defocuser.estimate(rgb), runs)
            t_est, est = _median_s(lambda: estimate(rgb, auto.deconvolver.est_cfg), runs)
            t_rule, diag = _median_s(lambda: diagnose(features(est, radius, rgb), auto.route_cfg), runs)
            status.update(f"{w}x{h}: routes")
            t_blind, _ = _median_s(lambda: auto.runner.restore(rgb, None), runs)
            t_kernel, kr = _median_s(lambda: auto.deconvolver.restore(rgb, None, estimated=est), runs)
            t_defocus, _ = _median_s(lambda: auto.defocuser.restore_photo(photo, radius), runs)
            status.update(f"{w}x{h}: --method auto end to end")
            t_auto, _ = _median_s(lambda: auto.restore_photo(as_photo(rgb)[0]), runs)
            t_diag = t_map + t_est + t_rule
            rows.append({"size": f"{w}x{h}", "diagnosis": diag.line(), "map_s": t_map, "kernel_estimate_s": t_est,
                         "rule_s": t_rule, "diagnosis_s": t_diag, "blind_s": t_blind, "kernel_route_s": t_kernel,
                         "kernel_route_used": kr.used, "defocus_route_s": t_defocus, "auto_s": t_auto,
                         "end_to_end_s": {"none": t_diag, "kernel": t_diag + t_kernel, "defocus": t_diag + t_defocus,
                                          "blind": t_diag + t_blind}})
    box = machine()
    dev = auto.runner.device
    for r in rows:
        table = Table(title=f"deblur bench --routes — {r['size']}, {box.get('cuda_device', '') if dev.type == 'cuda' else box['cpu']} "
                            f"({dev}, {box['threads']} threads), median of {runs}; this photo: {r['diagnosis']}")
        for col in ("step", "seconds", "× blind net"):
            table.add_column(col, justify="left" if col == "step" else "right")
        blind = float(r["blind_s"])  # type: ignore[arg-type]
        steps = [("defocus map", r["map_s"]), ("shake-kernel estimate", r["kernel_estimate_s"]), ("diagnosis (both + rules)", r["diagnosis_s"]),
                 ("blind net alone (`--method blind`)", r["blind_s"]), ("kernel route's deconvolution", r["kernel_route_s"]),
                 ("defocus route's SVBR-Net", r["defocus_route_s"])]
        steps += [(f"auto end to end, route {k}", v) for k, v in r["end_to_end_s"].items()]  # type: ignore[union-attr]
        steps.append(("`--method auto` on this photo, measured", r["auto_s"]))
        for name, s in steps:
            table.add_row(name, f"{float(s):.2f}", f"{float(s) / blind:.2f}")  # type: ignore[arg-type]
        console.print(table)
    emit_json({"machine": box | {"device": str(dev)}, "runs": runs, "routes": rows}, as_json, json_file)
