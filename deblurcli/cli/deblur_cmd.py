"""`deblur [deblur] INPUTS…` — blind motion deblurring, or calibrated with --prior."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..batch import BatchOptions, Job, NamingOptions, Reader, plan_jobs
from ..errors import UsageError
from ..io.images import Photo
from .common import (Batch, Compare, CudaGraph, Debug, Device, FormatOpt, Inputs, Json, MaxMP, Model, Output, Overlap, Overwrite,
                     PrecisionOpt, Quality, Quiet, Recursive, SkipExisting, Strength, TileOpt, WeightsPath,
                     check_batch_options, guarded, setup_logging)
from .photos import make_runner, run_photos


@guarded
def deblur(
    inputs: Inputs,
    output: Output = None,
    recursive: Recursive = False,
    suffix: Annotated[str, typer.Option(help="Added to each output's stem.")] = "_deblurred",
    format: FormatOpt = "same",
    quality: Quality = 95,
    overwrite: Overwrite = False,
    skip_existing: SkipExisting = False,
    model: Model = None,
    weights: WeightsPath = None,
    prior: Annotated[Path | None, typer.Option(help="A camera prior from `deblur calibrate` (calibrated deblurring; uses the model it was made with unless --model says otherwise).")] = None,
    method: Annotated[str, typer.Option(help="With --prior: 'dpa' (learned prior) or 'psf' (classical deconvolution with the calibrated PSF field).")] = "dpa",
    psf_step: Annotated[bool | None, typer.Option("--psf-step/--no-psf-step", help="With --prior (dpa): finish with one deconvolution step with the calibrated PSF field, which keeps the net's result consistent with the photo. Default: on for a prior without adapted weights, off for an adapted one (its net has learned the field).", show_default=False)] = None,
    allow_aspect_mismatch: Annotated[bool, typer.Option(help="Use --prior even if the photo's aspect ratio differs from the calibration's (stretches the prior).")] = False,
    strength: Strength = 1.0,
    device: Device = "auto",
    cuda_graph: CudaGraph = False,
    precision: PrecisionOpt = "auto",
    tile: TileOpt = "auto",
    overlap: Overlap = None,
    batch: Batch = 1,
    compare: Compare = False,
    max_megapixels: MaxMP = 200.0,
    as_json: Json = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Deblur photos with the blind distortion-prior net (default: the fast `dpa-lite`; `--model
    dpa-compact` restores a little better in 2–3× the time). Outputs go beside the inputs as
    <name>_deblurred.<ext> unless -o says otherwise; inputs are never overwritten."""
    setup_logging(debug)
    if method not in ("dpa", "psf"):
        raise UsageError(f"--method {method!r}: expected dpa or psf")
    if method == "psf" and prior is None:
        raise UsageError("--method psf needs --prior (the PSF field comes from the calibration)")
    check_batch_options(overwrite, skip_existing, format, suffix)
    jobs = plan_jobs(inputs, NamingOptions(output, suffix, format, recursive))  # type: ignore[arg-type]
    opts = BatchOptions(overwrite, skip_existing, max_megapixels, quality, strength, compare)
    reader = Reader(jobs, opts)  # the first photo decodes while torch imports and the model loads
    try:
        from ..models.loader import load_model

        field = None
        if prior is not None:
            from ..calibrate.prior_file import read_prior

            field = read_prior(prior)
            model = model or field.meta.get("model_id")  # the model the prior was made with
        net, entry = load_model(model, "calibrate" if prior else "deblur", weights)
        if field is not None:
            from ..archs import hparams_of
            from ..calibrate.prior_file import check_prior

            field = check_prior(field, prior, entry, hparams_of(net))  # type: ignore[arg-type]
            if field.adapted is not None and method == "dpa":
                from ..calibrate.adapt import apply_adapted

                net = apply_adapted(net, field.adapted)
        runner = make_runner(net, device, precision, tile, overlap, batch, cuda_graph)
    except BaseException:
        reader.close()
        raise

    def process(job: Job, photo: Photo, on_tiles):  # type: ignore[no-untyped-def]
        if field is None:
            return runner.restore(photo.rgb(), None, progress=on_tiles)
        return field.restore(photo, runner, method, allow_aspect_mismatch, on_tiles, psf_step)

    run_photos(jobs, process, opts, quiet, as_json, "deblur", reader)
