"""The batch driver shared by `deblur` and `deblur defocus`: progress bars, summary table, JSON, exit code."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.markup import escape
from rich.table import Table

from ..batch import BatchOptions, FileResult, Job, Process, Reader, run_batch
from ..errors import UsageError
from .common import console, out

if TYPE_CHECKING:  # torch is imported only once a command needs a model (fast --help; the first photo
    from ..engine.runner import Runner  # decodes while it imports: batch.Reader)

def make_runner(model, device: str, precision: str, tile: str, overlap: int | None, batch: int,  # type: ignore[no-untyped-def]
                cuda_graph: bool = False) -> Runner:
    """``engine.setup.make_runner``, its notes printed, after start-up (the collector resumes here)."""
    from ..engine.allocator import resume_gc
    from ..engine.setup import make_runner as build

    resume_gc()  # start-up is over (cli.main.run paused it)
    notes: list[str] = []
    runner = build(model, device, precision, tile, overlap, batch, cuda_graph, notes)
    for n in notes:
        console.print(f"[yellow]warning[/] {escape(n)}")
    return runner


def progress_bar(quiet: bool = False) -> Progress:
    """The one progress display of long work (on stderr; hidden with --quiet/--json)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console, disable=quiet or not console.is_terminal, transient=False)


def provenance(runner: Runner, entry) -> dict:  # type: ignore[no-untyped-def]
    """What made the outputs, for --json: the tool's version, the checkpoint and how it ran."""
    from .. import __version__

    return {"version": __version__, "model": entry.id, "sha256": entry.sha256, "device": str(runner.device),
            "precision": str(runner.dtype).replace("torch.", ""), "tile": runner.cfg.tile, "context_px": runner.context}


def run_photos(jobs: list[Job], process: Process, opts: BatchOptions, quiet: bool, as_json: bool, title: str,
               reader: Reader | None = None, made_by: dict | None = None) -> None:
    show_results(lambda on_start, on_tiles: run_batch(jobs, process, opts, on_start, on_tiles, reader), len(jobs),
                 quiet, as_json, title, made_by)


Hook = Callable[..., None]


def show_results(results_of: Callable[[Hook, Hook], Iterable[FileResult]], total: int, quiet: bool, as_json: bool,
                 title: str, made_by: dict | None = None) -> None:
    """Show the results of a batch as they come (``results_of(on_start, on_tiles)``: the local batch or
    the Ray pipeline), then the summary; exit 1 when any file failed."""
    results: list[FileResult] = []
    t0 = time.perf_counter()
    progress = progress_bar(quiet)
    with progress:
        files = progress.add_task(title, total=total)
        tiles = progress.add_task("  tiles", total=1, visible=False)

        def on_start(job: Job) -> None:
            progress.update(files, description=f"{title} {job.src.name}")
            progress.update(tiles, completed=0, visible=False)

        def on_tiles(done: int, n: int) -> None:
            progress.update(tiles, completed=done, total=n, visible=n > 1)

        lines = not quiet and not console.is_terminal  # a log file or CI: one line per file as it ends
        for res in results_of(on_start, on_tiles):
            results.append(res)
            progress.advance(files)
            if lines:
                where = f" → {res.dest}" if res.status == "done" else f": {res.reason}" if res.reason else ""
                console.print(escape(f"[{len(results)}/{total}] {res.status} {res.src}{where} ({res.seconds:.1f} s)"),
                              soft_wrap=True)
            if res.status == "failed" and not lines:
                progress.console.print(f"[red]failed[/] {escape(f'{res.src}: {res.reason}')}")
            said = res.info.get("line")
            if said and not quiet:  # --method auto: what it found and what it did
                progress.console.print(f"[cyan]route[/] {escape(f'{_name(res.src)}: {said}')}")
            for w in res.warnings:
                progress.console.print(f"[yellow]warning[/] {escape(f'{_name(res.src)}: {w}')}")
    summarise(results, time.perf_counter() - t0, quiet, as_json, made_by)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def _name(src: Path | str) -> str:
    return src.name if isinstance(src, Path) else str(src).rsplit("/", 1)[-1]


def summarise(results: list[FileResult], seconds: float, quiet: bool, as_json: bool, made_by: dict | None = None) -> None:
    done = [r for r in results if r.status == "done"]
    mp = sum(r.megapixels for r in done)
    summary = {
        **(made_by or {}),
        "done": len(done),
        "skipped": sum(r.status == "skipped" for r in results),
        "failed": sum(r.status == "failed" for r in results),
        "seconds": round(seconds, 3),
        "megapixels_per_second": round(mp / seconds, 3) if seconds > 0 else 0.0,
        "files": [{"input": str(r.src), "output": str(r.dest) if r.dest else None, "status": r.status,
                   "reason": r.reason, "seconds": round(r.seconds, 3), "warnings": r.warnings,
                   "size": list(r.size) if r.size else None, "megapixels": round(r.megapixels, 3),
                   **{k: v for k, v in r.info.items() if k != "line"}} for r in results],
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
            console.print(f"  [red]✗[/] {escape(f'{r.src}: {r.reason}')}")
        elif r.status == "done" and len(results) <= 20:
            console.print(f"  [green]✓[/] {escape(f'{r.src} → {r.dest}')}")
