"""`deblur [deblur] INPUTS…` — blind motion deblurring, or calibrated with --prior."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..batch import BatchOptions, Job, NamingOptions, Reader, plan_jobs
from ..errors import UsageError
from ..io.images import Photo
from .common import (Batch, Compare, CudaGraph, Debug, Device, FormatOpt, Inputs, Json, MaxMP, Model, Output, Overlap, Overwrite,
                     PrecisionOpt, Quality, Quiet, Recursive, SkipExisting, Strength, StripMetadata, TileOpt, ToneGuard, WeightsPath,
                     check_batch_options, check_local, console, flag, guarded, setup_logging, CAL_PANEL, CLUSTER_PANEL, KERNEL_PANEL, MODEL_PANEL, OUT_PANEL)
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
    method: Annotated[str | None, typer.Option(help="auto (the default: diagnose each photo's blur and route it: left as it is if sharp, the kernel path for one shake, SVBR-Net for defocus, else the blind net), blind (the blind net alone; the default when --model or --weights names one), kernel (estimate the shake kernel, then the non-blind net; see --kernel), or with --prior: dpa (the default there) or psf.", show_default=False, rich_help_panel=MODEL_PANEL)] = None,
    kernel: Annotated[Path | None, typer.Option(help="Deblur with this kernel (.npy or grey PNG, in the photo's upright orientation): implies --method kernel, with the non-blind net for given kernels (hqs-large; --model chooses another).", rich_help_panel=KERNEL_PANEL)] = None,
    kernel_size: Annotated[int, typer.Option(help="--method kernel: the largest kernel side looked for, 7-75 px.", rich_help_panel=KERNEL_PANEL)] = 75,
    noise: Annotated[float | None, typer.Option(help="--method kernel: the photo's noise σ (0-0.5; 0.01 = 2.55/255). Default: measured per photo.", show_default=False, rich_help_panel=KERNEL_PANEL)] = None,
    save_kernel: Annotated[bool, flag("--save-kernel", help="--method auto or kernel: also write <output>_kernel.png (the blur trace) and _kernel.npy for a photo deconvolved by a kernel.", panel=KERNEL_PANEL)] = False,
    save_map: Annotated[bool, flag("--save-map", help="--method auto: also write <output>_blurmap.png (16-bit, radius × 1000) and a colour preview for a photo restored as defocused.", panel=KERNEL_PANEL)] = False,
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
    ray: Annotated[bool, flag("--ray", help="Restore on a Ray cluster: RAY_ADDRESS's, or a new local one (pip install 'deblurcli[cluster]'). Inputs and -o may then be URIs such as s3://bucket/shots.", panel=CLUSTER_PANEL)] = False,
    ray_address: Annotated[str | None, typer.Option(help="Implies --ray: auto (the running cluster), HOST:PORT or ray://HOST:10001.", show_default=False, rich_help_panel=CLUSTER_PANEL)] = None,
    ray_workers: Annotated[int | None, typer.Option(min=1, help="--ray: workers (each holds the model once). Default: one per GPU, else one per CPU.", show_default=False, rich_help_panel=CLUSTER_PANEL)] = None,
    as_json: Json = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Deblur photos. Each photo's blur is diagnosed and routed (--method auto): a sharp photo is left as
    it is, one camera shake goes to the kernel path, defocus to SVBR-Net with an estimated blur map,
    anything else to the blind distortion-prior net (`dpa-lite`); each photo's line says what was found
    and where it went. Outputs go beside the inputs as <name>_deblurred.<ext> unless -o says otherwise;
    inputs are never overwritten.

    [bold]Examples[/bold]

    deblur photo.jpg

    deblur shots/ -r -o out/ --skip-existing

    deblur "*.png" --strength 0.7 --compare

    deblur photo.jpg --save-kernel

    deblur photo.jpg --method blind --model dpa-compact

    deblur photo.jpg --kernel shake.npy

    deblur photo.jpg --prior module.prior

    deblur s3://bucket/shots/ -o s3://bucket/sharp/ --ray-address auto
    """
    setup_logging(debug)
    from ..api import resolve_method

    if resolve_method(method, prior, kernel, model if weights is None else weights) not in ("kernel", "auto") and save_kernel:  # checked before any decode
        raise UsageError("--save-kernel needs --method kernel or auto")
    if save_map and resolve_method(method, prior, kernel, model if weights is None else weights) != "auto":
        raise UsageError("--save-map needs --method auto", "or use `deblur defocus --save-map`")
    if save_map and (ray or ray_address is not None or ray_workers is not None):
        raise UsageError("--save-map is not available with --ray", "run without --ray, or use `deblur defocus --save-map`")
    check_batch_options(overwrite, skip_existing, format, suffix)
    opts = BatchOptions(overwrite, skip_existing, max_megapixels, quality, strength, compare, strip_metadata,
                        ("kernel",) * save_kernel + ("blurmap",) * save_map)
    load_args = dict(model=model, weights=weights, prior=prior, method=method, psf_step=psf_step,
                     allow_aspect_mismatch=allow_aspect_mismatch, device=device, precision=precision, tile=tile,
                     overlap=overlap, batch=batch, cuda_graph=cuda_graph, tone_guard=tone_guard,
                     kernel=kernel, noise=noise, kernel_size=kernel_size)
    if ray or ray_address is not None or ray_workers is not None:
        from .cluster import run_on_ray

        return run_on_ray(inputs, output, NamingOptions(None, suffix, format, recursive), opts, load_args,  # type: ignore[arg-type]
                          ray_address, ray_workers, save_kernel, quiet, as_json)
    check_local(inputs, output)
    with stdio(inputs, output, format, as_json, opts.sides) as (inputs, output):
        _run(inputs, output, recursive, suffix, format, opts, quiet, as_json, load_args, save_kernel, save_map)


def _run(inputs: list[str], output: str | Path | None, recursive: bool, suffix: str, format: str, opts: BatchOptions,  # noqa: A002
         quiet: bool, as_json: bool, load_args: dict, save_kernel: bool = False, save_map: bool = False) -> None:
    out_path = Path(output) if output is not None else None
    jobs = plan_jobs(inputs, NamingOptions(out_path, suffix, format, recursive), opts.sides,  # type: ignore[arg-type]
                     (load_args["kernel"], load_args["prior"]))
    reader = Reader(jobs, opts)  # the first photo decodes while torch imports and the model loads
    try:
        from ..api import load
        from ..engine.allocator import resume_gc

        notes: list[str] = []
        restorer = load(**load_args, notes=notes)
        resume_gc()  # start-up is over (cli.main.run paused it)
        for n in notes:
            console.print(f"[yellow]warning[/] {escape(n)}")
    except BaseException:
        reader.close()
        raise

    run_photos(jobs, restorer.batch_process(save_kernel, save_map), opts, quiet, as_json, "deblur", reader, provenance(restorer.runner, restorer.entry))
