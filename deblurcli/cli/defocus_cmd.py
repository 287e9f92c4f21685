"""`deblur defocus INPUTS…` — estimate the per-pixel defocus blur map, then SVBR-Net."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..batch import BatchOptions, Job, NamingOptions, Reader, Restored, plan_jobs
from ..errors import UsageError
from ..io.images import Photo
from .common import (Batch, Compare, CudaGraph, Debug, Device, FormatOpt, Inputs, Json, MaxMP, Model, Output, Overlap, Overwrite,
                     PrecisionOpt, Quality, Quiet, Recursive, SkipExisting, Strength, StripMetadata, TileOpt, ToneGuard, WeightsPath,
                     check_batch_options, check_local, console, guarded, setup_logging)
from .photos import provenance, run_photos

ESTIMATORS = ("edge", "learned")
# The estimator that measures best on the defocus validation table (`deblur bench --defocus --val`).
DEFAULT_ESTIMATOR = "learned"


@guarded
def defocus(
    inputs: Inputs,
    output: Output = None,
    recursive: Recursive = False,
    suffix: Annotated[str, typer.Option(help="Added to each output's stem.")] = "_defocused",
    format: FormatOpt = "same",
    quality: Quality = 95,
    overwrite: Overwrite = False,
    skip_existing: SkipExisting = False,
    blur_map: Annotated[Path | None, typer.Option(help="Per-pixel disk radius: 16-bit PNG/TIFF (radius × 1000) or .npy (px), photo-sized, upright.")] = None,
    save_map: Annotated[bool, typer.Option(help="Also write <output>_blurmap.png (16-bit, radius × 1000) and a colour preview with a legend.")] = False,
    estimator: Annotated[str, typer.Option(help="Blur-map estimator: learned (a small CNN trained on synthetic defocus; weights.toml's blurmap default) or edge (Zhuo & Sim gradient ratio + edge-aware propagation).")] = DEFAULT_ESTIMATOR,
    space: Annotated[str, typer.Option(help="Where the blur acts: linear (on linear light, as a lens blurs: a camera's own defocus) or srgb (on the sRGB values: blur added to a processed image, as in much published test data).")] = "linear",
    model: Model = None,
    weights: WeightsPath = None,
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
    """Remove defocus blur: estimate how out of focus every pixel is (or take --blur-map), then run
    SVBR-Net with that map. Radii are in pixels of the photo (the network was trained on 0.5–6 px)."""
    setup_logging(debug)
    from ..calibration.psf import check_space

    check_space(space)
    if estimator not in ESTIMATORS:
        raise UsageError(f"--estimator {estimator!r}: available: {', '.join(ESTIMATORS)}")
    check_batch_options(overwrite, skip_existing, format, suffix)
    check_local(inputs, output)
    opts = BatchOptions(overwrite, skip_existing, max_megapixels, quality, strength, compare, strip_metadata,
                        ("blurmap",) if save_map else ())
    jobs = plan_jobs(inputs, NamingOptions(Path(output) if output is not None else None, suffix, format, recursive),  # type: ignore[arg-type]
                     opts.sides, (blur_map,))
    if blur_map is not None and len(jobs) != 1:
        raise UsageError("--blur-map describes one photo; give exactly one input with it")
    reader = Reader(jobs, opts)  # the first photo decodes while torch imports and the models load
    try:
        from ..api import load_defocus
        from ..engine.allocator import resume_gc

        notes: list[str] = []
        d = load_defocus(model, weights=weights, estimator="edge" if blur_map is not None else estimator, device=device,
                         precision=precision, tile=tile, overlap=overlap, batch=batch, cuda_graph=cuda_graph, notes=notes,
                         tone_guard=tone_guard, space=space)
        resume_gc()  # start-up is over (cli.main.run paused it)
        for n in notes:
            console.print(f"[yellow]warning[/] {escape(n)}")
    except BaseException:
        reader.close()
        raise
    from ..defocusing.mapfile import read_blur_map, map_writers

    def process(job: Job, photo: Photo, on_tiles) -> Restored:  # type: ignore[no-untyped-def]
        radius = read_blur_map(blur_map, photo.pixels.shape[:2]) if blur_map is not None else d.estimate(photo.rgb())
        return Restored(d.restore_photo(photo, radius, on_tiles), map_writers(radius))

    run_photos(jobs, process, opts, quiet, as_json, "defocus", reader, provenance(d.runner, d.entry))
