"""Export a run's best checkpoint to ``deblurcli/weights/<id>.safetensors`` and update its entry in
``weights.toml`` (sha256, size, steps, metrics, recipe)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .. import archs
from ..hub.registry import BUNDLED_TOML, update_entry
from ..hub.resolve import sha256_of
from ..models import store
from .config import from_dict

PKG_WEIGHTS = Path(__file__).resolve().parents[1] / "weights"


def export(run_dir: Path, config_path: Path | None = None, dest: Path = PKG_WEIGHTS, toml: Path | None = None) -> Path:
    st = torch.load(run_dir / "best.pt", map_location="cpu", weights_only=False)
    cfg = from_dict(st["config"])
    model = archs.build(cfg.arch, cfg.hparams)
    model.load_state_dict(st["model"])
    recipe = {
        "config": str(config_path) if config_path else "",
        "data": list(cfg.data),
        "steps": st["step"],
        "seed": cfg.seed,
        "command": st.get("command", ""),
        "git_commit": st.get("git_commit", ""),
    }
    if st.get("device_steps"):  # where this run's steps ran, e.g. {"cpu": 4000, "NVIDIA H200": 2600}
        recipe["device_steps"] = dict(st["device_steps"])
    if cfg.init:  # fine-tuned: what it started from
        recipe["init"] = {"id": cfg.init, "sha256": st.get("init_sha256", "")}
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"{cfg.id}.safetensors"
    store.save(model, out, {"id": cfg.id, "recipe": recipe, "train_config": st["config"], "metrics": st["metrics"]})
    update_entry(
        cfg.id,
        {
            "arch": cfg.arch,
            "task": cfg.task,
            "file": f"weights/{out.name}",
            "sha256": sha256_of(out),
            "size": out.stat().st_size,
            "license": cfg.license,
            "recipe": recipe,
            "metrics": json.loads(json.dumps(st["metrics"])),
        },
        toml or BUNDLED_TOML,
    )
    return out
