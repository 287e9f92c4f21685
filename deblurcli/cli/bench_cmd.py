"""`deblur bench` — timing on this machine; `--quality`, `--calibration`, `--defocus` for the quality tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from ..errors import UsageError
from .common import CudaGraph, Debug, Device, Json, JsonFile, guarded, parse_size, setup_logging


@guarded
def bench(
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Weights ids, or 'all' (default).")] = None,
    arch: Annotated[list[str] | None, typer.Option(help="Time an architecture's compact config with random weights (no checkpoint needed); 'all' for every arch.")] = None,
    size: Annotated[list[str] | None, typer.Option(help="WIDTHxHEIGHT, repeatable (default 1280x720).")] = None,
    device: Device = "auto",
    precision: Annotated[list[str] | None, typer.Option(help="auto | fp32 | bf16 | fp16, repeatable.")] = None,
    tile: Annotated[str, typer.Option(help="Tile side, 'auto' or 'none'.")] = "auto",
    cuda_graph: CudaGraph = False,
    runs: Annotated[int, typer.Option(min=1, help="Timed runs.")] = 5,
    warmup: Annotated[int, typer.Option(min=0, help="Untimed warm-up runs.")] = 1,
    as_json: Json = False,
    json_file: JsonFile = None,
    recommend: Annotated[bool, typer.Option(help="Try tile sizes and precisions; suggest the fastest that fits.")] = False,
    quality: Annotated[bool, typer.Option(help="PSNR/SSIM per model and degradation instead of timing.")] = False,
    images: Annotated[Path | None, typer.Option(help="--quality: a folder of sharp photos (default: procedural scenes).")] = None,
    val: Annotated[bool, typer.Option(help="--quality: use the fixed-seed CBSD68 validation images ($DEBLUR_DATA).")] = False,
    calibration: Annotated[bool, typer.Option(help="Calibrated vs blind vs uniform prior vs PSF-field on simulated camera modules.")] = False,
    defocus: Annotated[bool, typer.Option(help="Defocus table: estimator error, SVBR-Net with true/estimated map, blind model.")] = False,
    adapt_images: Annotated[Path | None, typer.Option(help="--calibration: also adapt the net to each module on these sharp photos, as `deblur calibrate --adapt-images` does (minutes per module).")] = None,
    adapt_steps: Annotated[int, typer.Option(min=1, help="--calibration with --adapt-images: fine-tuning steps.")] = 1000,
    chart: Annotated[bool, typer.Option(help="--calibration: calibrate each module with a chart (`deblur chart`) instead of a photo.")] = False,
    count: Annotated[int, typer.Option(help="Images per set for the quality tables.")] = 12,
    routes: Annotated[bool, typer.Option(help="Time `--method auto` step by step: the diagnosis, each route, each route end to end against the blind net (default size 4000x3000).")] = False,
    debug: Debug = False,
) -> None:
    """Time the models on this machine (median of --runs after --warmup, synchronised), or measure
    their quality (--quality, --calibration, --defocus). The README's tables come from this command."""
    setup_logging(debug)
    if json_file is not None:  # a report, replaced if it exists; never a folder, checked before the work
        from ..plan import Plan

        Plan().claim(json_file, "JSON report", overwrite=True, hint="name a .json file")
    if quality or calibration or defocus:
        from .bench_quality import run_quality

        run_quality(model or [], images, val, calibration, defocus, quality, count, device, json_file, adapt_images, adapt_steps,
                    chart, as_json)
        return
    if routes:
        from .bench_timing import run_route_timing

        run_route_timing([parse_size(s) for s in (size or ["4000x3000"])], device, runs, json_file, as_json)
        return
    from .bench_timing import run_timing

    run_timing(model or [], [parse_size(s) for s in (size or ["1280x720"])], device, precision or ["auto"], tile, runs, warmup,
               json_file, recommend, arch or [], cuda_graph, as_json)



