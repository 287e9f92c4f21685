"""`deblur … --ray`: the batch on a Ray cluster, reported as the local batch is (progress, summary, exit code)."""

from __future__ import annotations

from typing import Any

from ..batch import BatchOptions, NamingOptions
from ..errors import UsageError
from .photos import show_results


def run_on_ray(inputs: list[str], output: str | None, naming: NamingOptions, opts: BatchOptions, load_args: dict[str, Any],
               address: str | None, workers: int | None, save_kernel: bool, quiet: bool, as_json: bool) -> None:
    if "-" in inputs or output == "-":
        raise UsageError("--ray reads and writes files: stdin and stdout (`-`) are for one local photo")
    from ..ray.pipeline import ClusterOptions, require_ray, run_items
    from ..ray.plan import plan

    require_ray()

    items = plan(inputs, output, naming, opts.sides, (load_args.get("kernel"), load_args.get("prior")))
    made_by: dict[str, Any] = {}
    show_results(lambda on_start, on_tiles: run_items(items, options=opts, load_args=load_args,
                                                      cluster=ClusterOptions(address, workers),
                                                      save_kernel=save_kernel, made_by=made_by),
                 len(items), quiet, as_json, "deblur (ray)", made_by)
