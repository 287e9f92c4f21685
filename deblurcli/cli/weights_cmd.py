"""`deblur weights list|pull|verify|path|info|add` — the checkpoints the tool knows and where they are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..errors import DeblurError, UsageError
from ..hub.registry import WeightsEntry, load_registry
from ..hub.resolve import locate, resolve, sha256_of
from .common import Debug, console, guarded, out, setup_logging

weights_app = typer.Typer(help="List, download, verify and describe checkpoints.", no_args_is_help=True)


def _headline(e: WeightsEntry) -> str:
    m = e.metrics.get("motion") or e.metrics.get("defocus") or next(iter(e.metrics.values()), None)
    if isinstance(m, dict) and "psnr" in m and "psnr_input" in m:
        return f"{m['psnr']:.2f} dB ({m['psnr'] - m['psnr_input']:+.2f})"
    if isinstance(m, dict) and "mae" in m:  # the blur-map estimator
        return f"radius error {m['mae']:.2f} px" + (f" (edge: {m['mae_edge']:.2f})" if "mae_edge" in m else "")
    return "—"


@weights_app.command("list")
@guarded
def list_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every registered checkpoint: task, size, where it is, whether it verifies, default marker."""
    reg = load_registry()
    defaults = {v: k for k, v in reg.defaults.items()}
    rows = []
    for e in reg.entries.values():
        where, path = locate(e)
        ok = None if path is None else sha256_of(path) == e.sha256
        rows.append({"id": e.id, "arch": e.arch, "task": e.task, "size": e.size, "where": where, "verified": ok,
                     "default_for": [k for k, v in reg.defaults.items() if v == e.id], "steps": e.steps, "headline": _headline(e)})
    if as_json:
        out.print_json(json.dumps(rows))
        return
    t = Table(title="checkpoints")
    for col in ("id", "task", "arch", "size", "where", "verified", "steps", "validation (motion/defocus)", "default"):
        t.add_column(col)
    for r in rows:
        ver = "—" if r["verified"] is None else ("[green]yes[/]" if r["verified"] else "[red]NO[/]")
        t.add_row(r["id"], r["task"], r["arch"], f"{r['size'] / 1e6:.1f} MB", r["where"], ver, str(r["steps"] or "—"),
                  r["headline"], ", ".join(r["default_for"]) or ("*" if r["id"] in defaults else ""))
    console.print(t)


@weights_app.command("pull")
@guarded
def pull(ids: Annotated[list[str] | None, typer.Argument(help="Weights ids.")] = None,
         all_: Annotated[bool, typer.Option("--all", help="Every registered checkpoint.")] = False, debug: Debug = False) -> None:
    """Download (if needed) and verify checkpoints."""
    setup_logging(debug)
    reg = load_registry()
    if not ids and not all_:
        raise UsageError("name weights ids or pass --all")
    entries = list(reg.entries.values()) if all_ else [reg.get(i) for i in ids or []]
    failed = 0
    for e in entries:
        try:
            p = resolve(e)
            console.print(f"[green]✓[/] {e.id}: {p}")
        except DeblurError as err:
            failed += 1
            console.print(f"[red]✗[/] {e.id}: {err}" + (f" ({err.hint})" if err.hint else ""))
    if failed:
        raise typer.Exit(1)


@weights_app.command("verify")
@guarded
def verify_cmd(ids: Annotated[list[str] | None, typer.Argument(help="Weights ids (default: all present).")] = None) -> None:
    """Check the sha256 of every checkpoint present locally (nothing is downloaded)."""
    reg = load_registry()
    entries = [reg.get(i) for i in ids] if ids else list(reg.entries.values())
    bad = 0
    for e in entries:
        where, path = locate(e)
        if path is None:
            console.print(f"[dim]-[/] {e.id}: not present ({where})")
            continue
        ok = sha256_of(path) == e.sha256
        bad += not ok
        console.print(f"{'[green]✓' if ok else '[red]✗'}[/] {e.id}: {path}" + ("" if ok else " — sha256 MISMATCH"))
    if bad:
        raise typer.Exit(1)


@weights_app.command("path")
@guarded
def path_cmd(wid: Annotated[str, typer.Argument(help="Weights id.")]) -> None:
    """Print the verified local path of a checkpoint (downloading it if needed)."""
    out.print(str(resolve(load_registry().get(wid))), soft_wrap=True)


@weights_app.command("info")
@guarded
def info(wid: Annotated[str, typer.Argument(help="Weights id.")]) -> None:
    """The full entry: source, license, training recipe, validation metrics, parameters, GFLOP/MP."""
    from ..archs import build
    from ..metrics_model import model_stats

    e = load_registry().get(wid)
    where, path = locate(e)
    d = {"id": e.id, "arch": e.arch, "task": e.task, "file": e.file, "hub": e.hub.__dict__ if e.hub else None,
         "sha256": e.sha256, "size": e.size, "license": e.license, "where": where, "path": str(path) if path else None,
         "recipe": e.recipe, "metrics": e.metrics}
    if path is not None:
        from ..models.store import read_metadata

        meta = read_metadata(path)
        hp = json.loads(meta.get("hparams", "{}"))
        d["hparams"] = hp
        d |= model_stats(build(e.arch, hp), e.arch)
    out.print_json(json.dumps(d, default=str))


@weights_app.command("add")
@guarded
def add(file: Annotated[Path, typer.Argument(help="A deblurcli .safetensors checkpoint, or another's .pth/.safetensors that spandrel reads.", exists=True, dir_okay=False)],
        wid: Annotated[str, typer.Option("--id", help="The id to register it under (then: --model ID).")],
        task: Annotated[str | None, typer.Option(help="motion | defocus | prior | blurmap (default: from its arch).")] = None,
        license_: Annotated[str, typer.Option("--license", help="Its licence, as you know it.")] = "user file",
        overwrite: Annotated[bool, typer.Option("--overwrite", metavar="", help="Replace an entry of that id.")] = False) -> None:
    """Register your own checkpoint in your weights.toml (~/.config/deblurcli/weights.toml or
    $DEBLUR_WEIGHTS_TOML) with its sha256 and size, so `--model ID` finds and verifies it."""
    from ..hub.registry import update_entry, user_toml
    from ..models.loader import ARCH_TASK, load_file

    _, found = load_file(file)  # refuses what neither we nor spandrel can load
    meta = {"arch": found.arch}
    reg = load_registry()
    if wid in reg.entries and not overwrite:
        raise UsageError(f"--id {wid}: already registered", "choose another id, or pass --overwrite (your own entries only)")
    dest = user_toml()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fields = {"arch": meta["arch"], "task": task or ARCH_TASK.get(meta["arch"], "motion"), "file": str(file.resolve()),
              "sha256": sha256_of(file), "size": file.stat().st_size, "license": license_}
    update_entry(wid, fields, dest)
    console.print(f"registered {wid} ({meta['arch']}, sha256 {fields['sha256'][:12]}…) in {dest}")
