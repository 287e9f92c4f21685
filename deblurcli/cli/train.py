"""``deblur train CONFIG``: train (resumable), validate, and export a checkpoint."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, help=__doc__)


@app.command("train")
def train_cmd(
    config: Annotated[Path, typer.Argument(help="Training config (TOML), e.g. configs/dpa.toml.", exists=True, dir_okay=False)],
    resume: Annotated[bool, typer.Option("--resume", help="Continue from RUN_DIR/last.pt if it exists.")] = False,
    run_dir: Annotated[Path | None, typer.Option(help="Where checkpoints and logs go (default runs/<id>).")] = None,
    data: Annotated[Path | None, typer.Option(help="Data root (default $DEBLUR_DATA or ../shared/data).")] = None,
    max_minutes: Annotated[float | None, typer.Option(help="Stop (after checkpointing) after this many minutes.")] = None,
    export: Annotated[bool, typer.Option("--export", help="Only export RUN_DIR/best.pt to safetensors + weights.toml.")] = False,
    steps: Annotated[int | None, typer.Option(help="Override the config's total steps (the LR schedule follows).")] = None,
    batch: Annotated[int | None, typer.Option(min=1, help="Override the config's batch size (a GPU takes far more).")] = None,
    workers: Annotated[int | None, typer.Option(min=0, help="Override the config's data worker processes.")] = None,
    crop: Annotated[int | None, typer.Option(min=32, help="Override the config's crop side.")] = None,
    val_count: Annotated[int | None, typer.Option(min=1, help="Override the config's images per synthetic validation set.")] = None,
    device: Annotated[str, typer.Option(help="cpu | cuda | cuda:N: where the steps run (checkpoints are the same either way).")] = "cpu",
) -> None:
    """Train the model a config describes; --export writes the best checkpoint into the package."""
    from ..synth.data import data_root
    from ..training import export as export_mod
    from ..training.config import load_config
    from ..training.loop import train

    from dataclasses import replace

    cfg = load_config(config)
    overrides = {k: v for k, v in (("steps", steps), ("batch", batch), ("workers", workers), ("crop", crop), ("val_count", val_count)) if v is not None}
    cfg = replace(cfg, **overrides)
    rd = run_dir or Path("runs") / cfg.id
    if export:
        out = export_mod.export(rd, config)
        typer.echo(f"exported {out}")
        return
    argv = sys.argv[1:]
    command = shlex.join(["deblur", *(argv if argv[:1] == ["train"] else ["train", *argv])]) if sys.argv else ""
    from ..engine.runner import pick_device

    train(cfg, rd, data_root(str(data) if data else None), resume, max_minutes, command, str(pick_device(device)))
