"""`deblur chart chart.png --size 4000x3000` — the calibration chart to photograph for `deblur calibrate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from ..plan import Plan
from .common import console, guarded, parse_size

MAX_CHART_MP = 100.0


@guarded
def chart(
    output: Annotated[Path, typer.Argument(help="The chart to write (.png or .tif: lossless).")],
    size: Annotated[str, typer.Option(help="WIDTHxHEIGHT in px: the sensor's aspect ratio, at the resolution of the screen or print.")] = "3840x2160",
    seed: Annotated[int, typer.Option(help="Chart pattern seed (any; the chart file itself is the reference).")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
) -> None:
    """Write a calibration chart (dead leaves + white noise) to photograph with the camera module: show
    it full screen or print it, photograph it so that it fills the frame, in focus as well as the
    module can, then run `deblur calibrate CHART PHOTO`. It measures the lens better than a natural
    scene: every part of the field has texture at every scale."""
    from ..calibration.chart import make_chart
    from ..io.images import Photo, write_photo

    w, h = parse_size(size)
    if w * h / 1e6 > MAX_CHART_MP:
        raise UsageError(f"--size {size}: {w * h / 1e6:.0f} MP is more than a chart needs", f"at most {MAX_CHART_MP:.0f} MP")
    if output.suffix.lower() not in (".png", ".tif", ".tiff"):
        raise UsageError(f"{output}: a chart must be lossless", "use a .png or .tif name")
    Plan().claim(output, "chart", overwrite)
    with console.status(f"drawing a {w}×{h} chart …"):
        write_photo(Photo(make_chart(h, w, seed)), output, overwrite=overwrite)
    console.print(f"wrote {output} ({w}×{h}). Show it full screen or print it, photograph it filling the frame, "
                  f"then: deblur calibrate {output} PHOTO -o module.prior")
