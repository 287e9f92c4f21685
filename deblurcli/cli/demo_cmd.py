"""`deblur demo` — offline: make a blurred test scene, restore it, write the images, print PSNR/SSIM."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from ..errors import OutputExistsError, UsageError
from ..plan import Plan
from ..io.images import Photo, write_photo
from .common import Debug, Model, console, guarded, setup_logging


@guarded
def demo(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the demo images.")] = Path("deblur-demo"),
    model: Model = None,
    method: Annotated[str | None, typer.Option(help="As `deblur --method` (default: what `deblur` does: diagnose the blur and route it).", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Scene and blur seed.")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace earlier demo images.")] = False,
    debug: Debug = False,
) -> None:
    """Make a procedural scene (shapes, text, texture), blur it with a known camera-shake kernel, restore
    it as `deblur` would (the diagnosis and route printed) and, for comparison, with the blind net alone;
    report PSNR/SSIM against the sharp scene. Needs no network and no files."""
    setup_logging(debug)
    import torch

    from ..batch import side_by_side
    from ..metrics import psnr, ssim
    from ..synth.degrade import degrade
    from ..synth.scenes import scene

    if output.exists() and not output.is_dir():
        raise UsageError(f"-o {output} is a file: the demo writes four images into a folder", "give a folder name")
    names = {k: output / f"{k}.png" for k in ("sharp", "blurred", "restored", "compare")}
    if not overwrite and any(p.exists() for p in names.values()):
        raise OutputExistsError(f"{output} already holds demo images", "pass --overwrite to replace them")
    plan = Plan()
    for k, p in names.items():
        plan.claim(p, f"demo {k} image", overwrite)
    sharp = scene(seed)
    rng = np.random.default_rng(seed)
    d = degrade(sharp, rng, "motion")
    blurred = np.clip(d.blurred, 0, 1)
    from ..api import as_photo, load, resolve_method

    chosen = resolve_method(method, model=model)
    r = load(model, method=chosen)
    rows = [("blurred input", blurred)]
    if chosen not in ("blind", "dpa"):  # the default routes the photo; the blind net's result beside it
        with console.status(f"restoring ({chosen}) …"):
            restored = r.restore_photo(as_photo(blurred)[0])
        diag = getattr(r, "diagnosis", None)
        rows.append((f"restored, --method {chosen}" + (f": {diag.line()}" if diag is not None else ""), restored))
    # auto holds the blind net already (its runner and entry); kernel does not
    blind = r if chosen in ("auto", "blind", "dpa") else load(model, method="blind")
    with console.status(f"restoring with {blind.model_id} …"):
        blind_rgb = blind.runner.restore(blurred, None)
    rows.append((f"blind net alone ({blind.model_id})", blind_rgb))
    if chosen in ("blind", "dpa"):
        restored = blind_rgb
    entry = blind.entry
    to_t = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None]  # noqa: E731
    b = 16  # ignore the border, where reflect-padded blur is not a camera's blur
    crop = lambda a: to_t(a)[..., b:-b, b:-b]  # noqa: E731
    t = Table(title=f"demo: {sharp.shape[1]}×{sharp.shape[0]} scene, camera-shake kernel {d.kernel.shape[0]} px")
    t.add_column("image")
    t.add_column("PSNR dB", justify="right")
    t.add_column("SSIM", justify="right")
    for label, img in rows:
        t.add_row(label, f"{float(psnr(crop(img), crop(sharp))):.2f}", f"{float(ssim(crop(img), crop(sharp))):.4f}")
    for k, img in (("sharp", sharp), ("blurred", blurred), ("restored", restored)):
        write_photo(Photo(img), names[k], overwrite=overwrite)
    write_photo(side_by_side(Photo(blurred), Photo(restored)), names["compare"], overwrite=overwrite)
    console.print(t)
    steps = entry.steps
    if steps is not None:
        console.print(f"[dim]{entry.id}: trained {steps} steps; see `deblur weights info {entry.id}`[/]")
    console.print(f"wrote {', '.join(str(p) for p in names.values())}")
