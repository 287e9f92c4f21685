"""The training loop: resumable, periodic checkpoints and validation, cosine LR, bf16 on CPU.

Intermediate checkpoints (``runs/<id>/last.pt``, ``best.pt``) are torch pickles written by us and
read only by this loop; what ships is exported to safetensors by ``export``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import archs
from ..synth import foreign, valset
from .batches import loader
from .config import TrainConfig, to_dict
from .gan import Adversary
from .steps import STEPS
from .validate import EST, validate


def lr_at(cfg: TrainConfig, step: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = min((step - cfg.warmup) / max(cfg.steps - cfg.warmup, 1), 1.0)
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * t))


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def headline(arch: str, metrics: dict[str, dict[str, float]]) -> float:
    """Mean PSNR gain over the input on the foreign sets when the run scores any (the numbers that
    decide; a non-blind net's ``<set>/est`` too), else on the kinds the model is meant for (selects ``best.pt``); for the blur-map estimator, how much lower its radius error is than the edge-based estimator's."""
    if arch == "blurmap":
        return metrics["defocus"]["mae_edge"] - metrics["defocus"]["mae"]
    picked = [k for k in metrics if foreign.is_foreign(k.removesuffix(EST))] or [k for k in metrics if k != "sharp"]
    gains = [metrics[k]["psnr"] - metrics[k]["psnr_input"] for k in picked]
    return sum(gains) / max(len(gains), 1)


def _val_versions(cfg: TrainConfig) -> dict[str, int]:
    """Versions of the validation sets a run scores on (stored in its checkpoints)."""
    return {k: valset.version_of(k) for k in cfg.val_kinds}


def _save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def device_name(device: torch.device) -> str:
    """What a checkpoint's recipe calls the device its steps ran on ("cpu", "NVIDIA H200", …)."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else device.type


def train(cfg: TrainConfig, run_dir: Path, data_root: Path, resume: bool, max_minutes: float | None = None,
          command: str = "", device: str = "cpu") -> Path:
    """Train (resumable) on ``device``; checkpoints hold CPU tensors whatever the device, and record
    how many steps ran on which device (``device_steps``)."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    dev = torch.device(device)
    run_dir.mkdir(parents=True, exist_ok=True)
    model = archs.build(cfg.arch, cfg.hparams).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.99))
    step, best = 0, -1e9
    last = run_dir / "last.pt"
    st: dict[str, Any] = {}
    if resume and last.exists():
        st = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step, best = st["step"], st["best"]
        old = st.get("val_versions") or {}  # absent in checkpoints from before versions: v1 everywhere
        if any(old.get(k, 1) != v for k, v in _val_versions(cfg).items()):
            best = -1e9  # a validation set this run scores on has changed: old scores do not compare
    # fine-tuning starts from cfg.init; a resumed run already holds those weights, trained further
    init_sha = st.get("init_sha256", "") if step > 0 else (_init_from(model, cfg) if cfg.init else "")
    device_steps: dict[str, int] = dict(st.get("device_steps") or ({"cpu": step} if step else {}))
    here, start_step = device_name(dev), step
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    (run_dir / "config.json").write_text(json.dumps(to_dict(cfg), indent=2))
    adversary = Adversary(cfg) if cfg.arch == "attgan" and cfg.adversarial_after >= 0 else None
    if adversary is not None and resume and last.exists() and "adversary" in st:
        adversary.load_state_dict(st["adversary"])
    step_fn = adversary.step if adversary is not None else STEPS[cfg.arch]
    batches = loader(cfg, data_root, step)
    log = (run_dir / "log.jsonl").open("a")
    t0, tlast, seen = time.time(), time.time(), 0
    ctx = (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) if cfg.precision == "bf16" else nullcontext
    meta = {"command": command, "git_commit": git_commit(), "val_versions": _val_versions(cfg), "init_sha256": init_sha}

    def stamp() -> dict[str, Any]:
        return meta | {"device_steps": device_steps | {here: device_steps.get(here, 0) + step - start_step}}

    while step < cfg.steps:
        model.train()
        b = {k: v.to(dev, non_blocking=True) for k, v in next(batches).items()}
        if cfg.channels_last:
            b = {k: v.contiguous(memory_format=torch.channels_last) if v.ndim == 4 else v for k, v in b.items()}
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, step)
        with ctx():
            loss = step_fn(model, b, step, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        seen += 1
        if step % 50 == 0:
            dt = (time.time() - tlast) / seen
            log.write(json.dumps({"step": step, "loss": loss.item(), "grad_norm": float(gn), "lr": lr_at(cfg, step), "s_per_step": dt}) + "\n")
            log.flush()
            tlast, seen = time.time(), 0
        done = max_minutes is not None and (time.time() - t0) / 60 > max_minutes
        if step % cfg.val_every == 0 or done or step == cfg.steps:
            metrics = validate(model, cfg.arch, cfg.val_kinds, cfg.val_count, cfg.val_size, cfg.precision == "bf16")
            h = headline(cfg.arch, metrics)
            rec = {"step": step, "val": metrics, "headline_gain_db": h, "time": time.time()}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            with (run_dir / "curve.jsonl").open("a") as f:
                f.write(json.dumps(rec) + "\n")
            if h > best:
                best = h
                _save(run_dir / "best.pt", {"model": _plain(model), "step": step, "metrics": metrics, "config": to_dict(cfg), **stamp()})
        if step % cfg.ckpt_every == 0 or done or step == cfg.steps:
            extra = {"adversary": adversary.state_dict()} if adversary is not None else {}
            _save(last, {"model": _plain(model), "opt": opt.state_dict(), "step": step, "best": best, "config": to_dict(cfg), **stamp(), **extra})
        if done:
            break
    log.close()
    return run_dir


def _init_from(model: nn.Module, cfg: TrainConfig) -> str:
    """Load the weights of registry entry ``cfg.init`` into ``model`` (same arch and hparams); return its
    sha256, which the run's checkpoints record."""
    from ..hub.registry import load_registry
    from ..models.loader import load_entry

    entry = load_registry().get(cfg.init)
    src, _ = load_entry(entry)
    if entry.arch != cfg.arch:
        raise ValueError(f"init {cfg.init!r} is arch {entry.arch!r}, not {cfg.arch!r}")
    model.load_state_dict(src.state_dict())  # strict: a different hparams shape fails here
    return entry.sha256


def _plain(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
