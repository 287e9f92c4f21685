"""The batch driver shared by `deblur` and `deblur defocus`: progress bars, summary table, JSON, exit code."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ..batch import BatchOptions, FileResult, Job, Process, Reader, run_batch
from ..errors import UsageError
from .common import console, out, parse_tile

if TYPE_CHECKING:  # torch is imported only once a command needs a model (fast --help; the first photo
    from ..engine.runner import Runner  # decodes while it imports: batch.Reader)

AUTO_TILE_CPU = 1024
BYTES_PER_PX = 700  # fallback for an arch without a measured act_bytes_per_px
TILE_MEMORY_CPU = 768 << 20  # activations of one CPU tile: keeps a 24 MP photo under 3 GB peak


def make_runner(model, device: str, precision: str, tile: str, overlap: int | None, batch: int,  # type: ignore[no-untyped-def]
                cuda_graph: bool = False) -> Runner:
    from ..engine.allocator import resume_gc
    from ..engine.runner import Runner, RunConfig

    resume_gc()  # start-up is over (cli.main.run paused it)
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise UsageError(f"--precision {precision!r}: expected auto, fp32, bf16 or fp16")
    t = parse_tile(tile)
    if overlap is not None and overlap < 0:
        raise UsageError(f"--overlap {overlap}: must be 0 or more")
    runner = Runner(model, RunConfig(device=device, precision=precision, tile=None if t is None else AUTO_TILE_CPU, context=overlap, batch=batch,
                                      cuda_graph=cuda_graph))  # type: ignore[arg-type]
    if overlap is not None and overlap < runner.context_default and t is not None:
        console.print(f"[yellow]warning[/] --overlap {overlap} is below this model's measured context "
                      f"({runner.context_default} px): tile seams may show")
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
    """The largest tile whose activations (the arch's measured ``act_bytes_per_px``,
    ``scripts/tile_memory.py``) fit in a quarter of the free memory, and on CPU in ``TILE_MEMORY_CPU``:
    big tiles waste less compute on context (a 1024 tile with 128 px context per side computes 1.8× its
    core, a 2048 tile 1.3×), so a light model gets bigger tiles than a heavy one. CUDA: up to 4096."""
    import torch

    bpp = getattr(runner.model, "act_bytes_per_px", BYTES_PER_PX)
    if runner.device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(runner.device)
        budget = free * 0.25
    else:
        budget = min(_available_ram() * 0.25, TILE_MEMORY_CPU)
    side = int((budget / bpp) ** 0.5)
    return max(256, min(4096, side // 64 * 64))


def progress_bar(quiet: bool = False) -> Progress:
    """The one progress display of long work (on stderr; hidden with --quiet/--json)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console, disable=quiet, transient=False)


def run_photos(jobs: list[Job], process: Process, opts: BatchOptions, quiet: bool, as_json: bool, title: str,
               reader: Reader | None = None) -> None:
    results: list[FileResult] = []
    t0 = time.perf_counter()
    progress = progress_bar(quiet)
    with progress:
        files = progress.add_task(title, total=len(jobs))
        tiles = progress.add_task("  tiles", total=1, visible=False)

        def on_start(job: Job) -> None:
            progress.update(files, description=f"{title} {job.src.name}")
            progress.update(tiles, completed=0, visible=False)

        def on_tiles(done: int, n: int) -> None:
            progress.update(tiles, completed=done, total=n, visible=n > 1)

        for res in run_batch(jobs, process, opts, on_start, on_tiles, reader):
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
