"""`deblur [deblur] INPUTS…` — blind motion deblurring, or calibrated with --prior."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..batch import BatchOptions, Job, NamingOptions, Reader, plan_jobs
from ..errors import UsageError
from ..io.images import Photo
from .common import (Batch, Compare, CudaGraph, Debug, Device, FormatOpt, Inputs, Json, MaxMP, Model, Output, Overlap, Overwrite,
                     PrecisionOpt, Quality, Quiet, Recursive, SkipExisting, Strength, StripMetadata, TileOpt, ToneGuard, WeightsPath,
                     check_batch_options, console, flag, guarded, setup_logging, CAL_PANEL, OUT_PANEL)
from .photos import provenance, run_photos
from .stdio import stdio


@guarded
def deblur(
    inputs: Inputs,
    output: Output = None,
    recursive: Recursive = False,
    suffix: Annotated[str, typer.Option(help="Added to each output's stem.", rich_help_panel=OUT_PANEL)] = "_deblurred",
    format: FormatOpt = "same",
    quality: Quality = 95,
    overwrite: Overwrite = False,
    skip_existing: SkipExisting = False,
    model: Model = None,
    weights: WeightsPath = None,
    prior: Annotated[Path | None, typer.Option(help="A camera prior from `deblur calibrate`; its model is used unless --model says otherwise.", rich_help_panel=CAL_PANEL)] = None,
    method: Annotated[str, typer.Option(help="With --prior: dpa (learned prior) or psf (classical deconvolution with the PSF field).", rich_help_panel=CAL_PANEL)] = "dpa",
    psf_step: Annotated[bool | None, typer.Option("--psf-step/--no-psf-step", metavar="", help="With --prior: end with one deconvolution by the PSF field. Default: on unless the prior holds adapted weights.", show_default=False, rich_help_panel=CAL_PANEL)] = None,
    allow_aspect_mismatch: Annotated[bool, flag("--allow-aspect-mismatch", help="Use --prior on a photo of another aspect ratio (stretches the prior).", panel=CAL_PANEL)] = False,
    strength: Strength = 1.0,
    device: Device = "auto",
    cuda_graph: CudaGraph = False,
    precision: PrecisionOpt = "auto",
    tile: TileOpt = "auto",
    overlap: Overlap = None,
    batch: Batch = 1,
    compare: Compare = False,
    strip_metadata: StripMetadata = False,
    tone_guard: ToneGuard = None,
    max_megapixels: MaxMP = 200.0,
    as_json: Json = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Deblur photos with the blind distortion-prior net (default: `dpa-lite`, trained on the widest
    blur; `--model dpa-compact` is the full-resolution pair, in 2–3× the time). Outputs go beside the inputs as
    <name>_deblurred.<ext> unless -o says otherwise; inputs are never overwritten.

    [bold]Examples[/bold]

    deblur photo.jpg

    deblur shots/ -r -o out/ --skip-existing

    deblur "*.png" --strength 0.7 --compare

    deblur photo.jpg --prior module.prior
    """
    setup_logging(debug)
    if method not in ("dpa", "psf"):
        raise UsageError(f"--method {method!r}: expected dpa or psf")
    if method == "psf" and prior is None:
        raise UsageError("--method psf needs --prior (the PSF field comes from the calibration)")  # before any decode
    check_batch_options(overwrite, skip_existing, format, suffix)
    with stdio(inputs, output, format, as_json) as (inputs, output):
        _run(inputs, output, recursive, suffix, format, BatchOptions(overwrite, skip_existing, max_megapixels, quality,
             strength, compare, strip_metadata), quiet, as_json,
             dict(model=model, weights=weights, prior=prior, method=method, psf_step=psf_step,
                  allow_aspect_mismatch=allow_aspect_mismatch, device=device, precision=precision, tile=tile,
                  overlap=overlap, batch=batch, cuda_graph=cuda_graph, tone_guard=tone_guard))


def _run(inputs: list[str], output: Path | None, recursive: bool, suffix: str, format: str, opts: BatchOptions,  # noqa: A002
         quiet: bool, as_json: bool, load_args: dict) -> None:
    jobs = plan_jobs(inputs, NamingOptions(output, suffix, format, recursive))  # type: ignore[arg-type]
    reader = Reader(jobs, opts)  # the first photo decodes while torch imports and the model loads
    try:
        from ..api import load
        from ..engine.allocator import resume_gc

        notes: list[str] = []
        restorer = load(**load_args, notes=notes)
        resume_gc()  # start-up is over (cli.main.run paused it)
        for n in notes:
            console.print(f"[yellow]warning[/] {n}")
    except BaseException:
        reader.close()
        raise

    def process(job: Job, photo: Photo, on_tiles):  # type: ignore[no-untyped-def]
        return restorer.restore_photo(photo, on_tiles)

    run_photos(jobs, process, opts, quiet, as_json, "deblur", reader, provenance(restorer.runner, restorer.entry))
