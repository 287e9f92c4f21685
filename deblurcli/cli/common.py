"""What every command shares: one rich Console (stderr), option aliases, and the error table that
maps the error vocabulary to one-line messages with a hint."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from ..errors import DeblurError, UsageError

console = Console(stderr=True, highlight=False)
out = Console(highlight=False)  # stdout: --json and machine-readable output only

F = TypeVar("F", bound=Callable[..., Any])

OUT_PANEL, MODEL_PANEL, PERF_PANEL, REPORT_PANEL, CAL_PANEL = "Output", "Model", "Performance", "Reporting", "Calibration"
KERNEL_PANEL, CLUSTER_PANEL = "Camera-shake kernel", "Cluster (Ray)"


def flag(*names: str, help: str, panel: str = OUT_PANEL) -> Any:  # noqa: A002 — typer's own word
    """A boolean switch shown as one name (no --no- twin, no <bool> column): help fits 80 columns."""
    return typer.Option(*names, help=help, metavar="", rich_help_panel=panel)


Inputs = Annotated[list[str], typer.Argument(help="Image files, folders, or glob patterns (quote them).", show_default=False,
                                             metavar="INPUTS...")]
Output = Annotated[str | None, typer.Option("-o", "--output", help="Output file (one input) or folder (mirrors the inputs' layout).", rich_help_panel=OUT_PANEL, show_default=False)]
Model = Annotated[str | None, typer.Option("--model", "-m", help="Weights id (`deblur weights list`); default from weights.toml.", rich_help_panel=MODEL_PANEL)]
WeightsPath = Annotated[Path | None, typer.Option("--weights", help="A .safetensors checkpoint file: its tensors are verified against the hash they were saved with, and it is the registered entry when its sha256 is.", rich_help_panel=MODEL_PANEL)]
Device = Annotated[str, typer.Option(help="auto | cpu | cuda | cuda:N | mps.", rich_help_panel=PERF_PANEL)]
CudaGraph = Annotated[bool, flag("--cuda-graph", help="On CUDA: record each tile shape's forward pass once and replay it (`deblur bench --cuda-graph`).", panel=PERF_PANEL)]
PrecisionOpt = Annotated[str, typer.Option(help="auto | fp32 | bf16 | fp16 (auto: bf16 where the CPU or GPU has it).", rich_help_panel=PERF_PANEL)]
TileOpt = Annotated[str, typer.Option(help="Tile side in px (≥ 64), 'auto' (bounded memory), or 'none' / 0 (whole image at once).", rich_help_panel=PERF_PANEL)]
Overlap = Annotated[int | None, typer.Option(min=0, help="Context px around each tile (default: the model's measured context; less may show seams).", rich_help_panel=PERF_PANEL)]
Recursive = Annotated[bool, flag("-r", "--recursive", help="Descend into sub-folders.")]
FormatOpt = Annotated[str, typer.Option("--format", help="same | png | jpg | tiff | webp.", rich_help_panel=OUT_PANEL)]
Quality = Annotated[int, typer.Option(min=1, max=100, help="JPEG/WebP quality (JPEG: 4:4:4 chroma).", rich_help_panel=OUT_PANEL)]
Overwrite = Annotated[bool, flag("--overwrite", help="Replace existing outputs (never inputs).")]
SkipExisting = Annotated[bool, flag("--skip-existing", help="Skip files whose output exists (resume a batch).")]
Strength = Annotated[float, typer.Option(min=0.0, max=1.0, help="0 = input, 1 = full restoration.", rich_help_panel=OUT_PANEL)]
ToneGuard = Annotated[float | None, typer.Option(min=0.0, help="Keep the photo's own brightness and colour over areas larger than this (px); 0 turns it off. Default: 32.", rich_help_panel=OUT_PANEL, show_default=False)]
Batch = Annotated[int, typer.Option(min=1, help="Tiles per forward pass.", rich_help_panel=PERF_PANEL)]
StripMetadata = Annotated[bool, flag("--strip-metadata", help="Drop EXIF (GPS included) and XMP, for sharing; the colour profile stays.")]
Compare = Annotated[bool, flag("--compare", help="Also write <output>_compare.<ext>: before | after.")]
MaxMP = Annotated[float, typer.Option(min=0.01, help="Refuse photos larger than this many megapixels.", rich_help_panel=PERF_PANEL)]
Debug = Annotated[bool, flag("--debug", help="Show tracebacks and resolution steps.", panel=REPORT_PANEL)]
Quiet = Annotated[bool, flag("-q", "--quiet", help="Only errors.", panel=REPORT_PANEL)]
Json = Annotated[bool, flag("--json", help="Print a machine-readable summary on stdout.", panel=REPORT_PANEL)]
JsonFile = Annotated[Path | None, typer.Option("--json-file", help="Also write the machine-readable summary to this file (a report: replaced if it exists).", rich_help_panel=REPORT_PANEL)]


def emit_json(report: dict, as_json: bool, json_file: Path | None) -> None:
    """The one way a command hands out JSON: ``--json`` on stdout, ``--json-file`` into a file."""
    import json

    if json_file is not None:  # written whole (a temporary file, then a rename); the file is the user's to name
        import tempfile

        from ..io.images import part_name, publish

        json_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=part_name(json_file), suffix=".part", dir=json_file.parent)
        try:
            with open(fd, "w") as f:
                f.write(json.dumps(report, indent=2))
            publish(Path(tmp), json_file)
        finally:
            Path(tmp).unlink(missing_ok=True)
        console.print(f"wrote {json_file}")
    if as_json:
        out.print_json(json.dumps(report))

STATE = {"debug": False}


def setup_logging(debug: bool) -> None:
    STATE["debug"] = debug
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(message)s", handlers=[RichHandler(console=console, show_path=False)], force=True)


def parse_size(s: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` → (width, height), both positive."""
    try:
        w, h = (int(v) for v in s.lower().split("x"))
    except ValueError as e:
        raise UsageError(f"--size {s!r}: expected WIDTHxHEIGHT, e.g. 1280x720") from e
    if w <= 0 or h <= 0:
        raise UsageError(f"--size {s!r}: width and height must be positive")
    return w, h


def check_batch_options(overwrite: bool, skip_existing: bool, fmt: str, suffix: str) -> None:
    if any(c in suffix for c in "/\\\0"):
        raise UsageError(f"--suffix {suffix!r}: a suffix cannot contain a path separator", "use -o to choose a folder")
    if overwrite and skip_existing:
        raise UsageError("--overwrite and --skip-existing contradict each other")
    if fmt not in ("same", "png", "jpg", "tiff", "webp"):
        raise UsageError(f"--format {fmt!r}: expected same, png, jpg, tiff or webp")


def check_local(inputs: list[str], output: str | None) -> None:
    """URIs (s3://…) are read and written by the Ray pipeline only: say so, instead of "not found"."""
    from ..ray.storage import is_uri

    if is_uri(output) or any(is_uri(i) for i in inputs):
        raise UsageError("URIs such as s3://… are read and written on a Ray cluster", "add --ray (pip install 'deblurcli[cluster]')")


def error_json(message: str, hint: str, code: int) -> None:
    """With --json, a run that fails before its summary still prints one JSON object on stdout."""
    import json

    out.print_json(json.dumps({"status": "error", "error": message, "hint": hint, "exit_code": code}))


def guarded(fn: F) -> F:
    """Map DeblurError to a one-line message (exit 2 for usage, 1 otherwise), and with --json to one
    JSON object on stdout as well; --debug re-raises."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DeblurError as e:
            if STATE["debug"]:
                raise
            code = 2 if isinstance(e, UsageError) else 1
            console.print(f"[red]error:[/] {escape(str(e))}")  # a path or a hint may hold [brackets]
            if e.hint:
                console.print(f"[dim]hint:[/] {escape(e.hint)}")
            if kwargs.get("as_json"):
                error_json(str(e), e.hint, code)
            raise typer.Exit(code) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/] — finished outputs are complete; nothing half-written was left")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def fail_usage(msg: str) -> None:
    console.print(f"[red]error:[/] {msg}")
    sys.exit(2)
