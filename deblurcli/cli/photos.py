"""The batch driver shared by `deblur` and `deblur defocus`: progress bars, summary table, JSON, exit code."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ..batch import BatchOptions, FileResult, Job, Process, run_batch
from ..engine.runner import Runner, RunConfig
from ..errors import UsageError
from .common import console, out, parse_tile

AUTO_TILE_CPU = 1024
BYTES_PER_PX = 700  # measured peak activation memory per input pixel of the compact nets in bf16, rounded up


def make_runner(model, device: str, precision: str, tile: str, overlap: int | None, batch: int) -> Runner:  # type: ignore[no-untyped-def]
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise UsageError(f"--precision {precision!r}: expected auto, fp32, bf16 or fp16")
    t = parse_tile(tile)
    runner = Runner(model, RunConfig(device=device, precision=precision, tile=None if t is None else AUTO_TILE_CPU, context=overlap, batch=batch))  # type: ignore[arg-type]
    if t == "auto":
        return runner.with_config(tile=auto_tile(runner))
    return runner if t is None else runner.with_config(tile=t)


def _available_ram() -> int:
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30


def auto_tile(runner: Runner) -> int:
    """The largest tile whose activations fit in a quarter of the free memory: big tiles waste less
    compute on context (a 512 tile with 96 px context per side computes 2.6× its core, a 1024 tile 1.5×).
    CPU: at most 1024 (keeps peak memory bounded for 24 MP photos); CUDA: up to 4096."""
    import torch

    if runner.device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(runner.device)
        cap = 4096
    else:
        free, cap = _available_ram(), AUTO_TILE_CPU
    side = int((free * 0.25 / BYTES_PER_PX) ** 0.5)
    return max(256, min(cap, side // 64 * 64))


def run_photos(jobs: list[Job], process: Process, opts: BatchOptions, quiet: bool, as_json: bool, title: str) -> None:
    results: list[FileResult] = []
    t0 = time.perf_counter()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=console, disable=quiet, transient=False)
    with progress:
        files = progress.add_task(title, total=len(jobs))
        tiles = progress.add_task("  tiles", total=1, visible=False)

        def on_start(job: Job) -> None:
            progress.update(files, description=f"{title} {job.src.name}")
            progress.update(tiles, completed=0, visible=False)

        def on_tiles(done: int, n: int) -> None:
            progress.update(tiles, completed=done, total=n, visible=n > 1)

        for res in run_batch(jobs, process, opts, on_start, on_tiles):
            results.append(res)
            progress.advance(files)
            if res.status == "failed":
                progress.console.print(f"[red]failed[/] {res.src}: {res.reason}")
            for w in res.warnings:
                progress.console.print(f"[yellow]warning[/] {res.src.name}: {w}")
    summarise(results, time.perf_counter() - t0, quiet, as_json)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def summarise(results: list[FileResult], seconds: float, quiet: bool, as_json: bool) -> None:
    done = [r for r in results if r.status == "done"]
    mp = sum(r.megapixels for r in done)
    summary = {
        "done": len(done),
        "skipped": sum(r.status == "skipped" for r in results),
        "failed": sum(r.status == "failed" for r in results),
        "seconds": round(seconds, 3),
        "megapixels_per_second": round(mp / seconds, 3) if seconds > 0 else 0.0,
        "files": [{"input": str(r.src), "output": str(r.dest) if r.dest else None, "status": r.status,
                   "reason": r.reason, "seconds": round(r.seconds, 3), "warnings": r.warnings} for r in results],
    }
    if as_json:
        out.print_json(json.dumps(summary))
    if quiet:
        return
    table = Table(title="summary", show_header=True)
    for col in ("done", "skipped", "failed", "time", "MP/s"):
        table.add_column(col, justify="right")
    table.add_row(str(summary["done"]), str(summary["skipped"]), str(summary["failed"]), f"{seconds:.1f} s",
                  f"{summary['megapixels_per_second']:.2f}")
    console.print(table)
    for r in results:
        if r.status == "failed":
            console.print(f"  [red]✗[/] {r.src}: {r.reason}")
        elif r.status == "done" and len(results) <= 20:
            console.print(f"  [green]✓[/] {r.src} → {r.dest}")
