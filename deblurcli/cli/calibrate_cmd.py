"""`deblur calibrate SHARP BLUR -o camera.prior` — a per-camera distortion prior from one pair."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..plan import plan_calibration
from .common import Debug, Model, WeightsPath, console, guarded, setup_logging


@guarded
def calibrate(
    sharp: Annotated[Path, typer.Argument(help="The sharp reference shot (e.g. stopped down, on a tripod).")],
    blur: Annotated[Path, typer.Argument(help="The same scene through the camera module to calibrate.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Prior file to write.")] = Path("camera.prior"),
    name: Annotated[str, typer.Option(help="A name for this camera module, stored in the file.")] = "",
    preview: Annotated[Path | None, typer.Option(help="Also write a PNG of the PSF field and blur-strength maps.")] = None,
    psf_grid: Annotated[int, typer.Option(min=1, max=16, help="PSF field grid (cells per side).")] = 6,
    model: Model = None,
    weights: WeightsPath = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing prior file.")] = False,
    max_megapixels: Annotated[float, typer.Option(help="Refuse larger images.")] = 200.0,
    adapt_images: Annotated[Path | None, typer.Option(help="A folder of sharp photos, subfolders included (any camera, e.g. stopped down): also fine-tune "
                                                       "the DPA net to this camera on them and crops of SHARP, blurred with the "
                                                       "estimated PSF field (minutes; stored in the prior file).")] = None,
    adapt_steps: Annotated[int, typer.Option(min=1, help="With --adapt-images: fine-tuning steps (4 crops of 256 px each; about 13 min with dpa-compact on 2 CPU cores).")] = 1000,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda | mps: where --adapt-images fine-tunes the net.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    debug: Debug = False,
) -> None:
    """Align BLUR onto SHARP, estimate the camera's multi-scale distortion prior (DPE net) and its PSF
    field, optionally fine-tune the DPA net to that field (--adapt-images), and write it all to a prior
    file for `deblur PHOTO --prior camera.prior`."""
    setup_logging(debug)
    from ..archs import hparams_of
    from ..calibration.estimate import calibrate as run
    from ..calibration.prior_file import in_sensor_frame, save_prior
    from ..calibration.preview import render
    from ..io.images import Photo, read_photo, write_photo
    from ..models.loader import load_model
    from ..calibration.align import pair_warnings
    from .common import out

    plan_calibration(sharp, blur, output, preview, overwrite, adapt_images)
    s, b = read_photo(sharp, max_megapixels), read_photo(blur, max_megapixels)
    for msg in pair_warnings(s.rgb(), b.rgb()):
        console.print(f"[yellow]warning[/] {msg}")
    net, entry = load_model(model, "calibrate", weights)
    with console.status("aligning the pair and estimating the prior …"):
        cal = run(net, s.rgb(), b.rgb(), psf_grid)
    levels, psfs, sensor = in_sensor_frame(cal.levels, cal.psfs, s.orientation, s.pixels.shape[:2])
    extra = {"name": name or output.stem, "alignment": cal.summary, "sharp": sharp.name, "blur": blur.name,
             "blur_space": cal.space}
    adapted = None
    if adapt_images is not None:
        from ..calibration.adapt import AdaptConfig, adapt, jpeg_share, load_photos
        from ..engine.runner import pick_device
        from ..io.images import unorient
        from .photos import progress_bar

        acfg = AdaptConfig(steps=adapt_steps, jpeg=jpeg_share(b.format), space=cal.space).with_measured_noise(*cal.noise)
        photos, skipped = load_photos(adapt_images, acfg)
        for msg in skipped:
            console.print(f"[yellow]skipped[/] {msg}")
        with progress_bar(quiet=as_json) as bar:
            task = bar.add_task("adapting the net to this camera", total=adapt_steps)
            adapted = adapt(net, unorient(s.rgb(), s.orientation), psfs, levels, acfg, photos,
                            lambda i, n: bar.update(task, completed=i),
                            unorient(cal.aligned, s.orientation) if acfg.real_share > 0 else None, pick_device(device))
        extra["adapt"] = acfg.describe() | {"photos": len(photos), "folder": adapt_images.name}
    if preview is not None:  # first: the prior file, written last, means the calibration is complete
        write_photo(Photo(render(s.rgb(), cal.psfs).astype("float32") / 255), preview, overwrite=overwrite)
    try:
        save_prior(output, levels, psfs, entry, hparams_of(net), sensor, extra, adapted, overwrite)
    except BaseException:
        if preview is not None:  # written only with its prior
            preview.unlink(missing_ok=True)
        raise
    if as_json:
        out.print_json(json.dumps(cal.summary | {"prior": str(output)}))
        return
    t = Table(title=f"calibration: {name or output.stem}")
    t.add_column("measure")
    t.add_column("value", justify="right")
    labels = {"alignment_residual_px": "alignment residual (px RMS)", "alignment_inliers": "matched features",
              "photometric_rmse": "exposure match RMSE (linear)", "psf_width_centre_px": "PSF width, centre (px)",
              "psf_width_corners_px": "PSF width, corners (px)", "anisotropy_corners": "PSF anisotropy, corners",
              "noise_rms_linear": "noise RMS (linear, blurred shot)", "blur_space": "the blur acts on",
              "held_out_residual_linear": "held-out residual, blur on linear light", "held_out_residual_srgb": "held-out residual, blur on sRGB values"}
    for k, v in cal.summary.items():
        t.add_row(labels.get(k, k), str(v))
    console.print(t)
    console.print(f"wrote {output}" + (f" and {preview}" if preview else ""))
